#!/usr/bin/env python3
"""End to end with the real binaries: an agent's findings become alerts in the collector, the
alerts reach a webhook, the WeCom, DingTalk and Feishu robot formats (one local HTTP listener)
and a real rsyslogd over TCP; one is acknowledged through the API and resolves when the next
scan no longer finds it. Also: a broken rule file on SIGHUP and through the API keeps the old
rules in force. Loopback only."""
import base64
import hashlib
import hmac
import http.server
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import unittest
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import AGENT, Collector, wait_for  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
RULES = os.path.join(SOURCE, "rules", "shipped")
SECRET = "SECtest-robot-secret"

# As the agent's probes write them (evidence from a scan of the test bed).
OPEN_RESOLVER = {
    "kind": "dns.open_resolver", "severity": "high", "subject": "192.0.2.54",
    "title": "Open resolver", "title_zh": "开放递归解析器",
    "evidence": {"query": "www.example.com", "rcode": 3, "answers": 0,
                 "recursion_available": True, "vantage": "agent"}}
WEAK_TLS = {
    "kind": "tls.weak_protocol", "severity": "medium", "subject": "legacy.demo-univ.edu.cn:443",
    "title": "Weak TLS", "title_zh": "弱TLS协议",
    "evidence": {"address": "192.0.2.41", "accepted": ["TLSv1", "TLSv1.1"],
                 "negotiated_by_default": "TLSv1.2"}}
SLOW = {
    "kind": "ipv6.web.slow", "severity": "medium", "subject": "slow.demo-univ.edu.cn",
    "title": "Slow over IPv6", "title_zh": "IPv6访问慢",
    "evidence": {"tries": 3, "ipv4_first_byte_ms": 0.7, "ipv6_first_byte_ms": 405,
                 "threshold_ms": 250}}


class Receiver(http.server.ThreadingHTTPServer):
    """Records every POST by path; answers like the robot APIs do."""
    daemon_threads = True

    def __init__(self):
        self.posts = []
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), Handler)

    def bodies(self, path):
        with self.lock:
            return [p for p in self.posts if p["path"] == path]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        length = int(self.headers.get("Content-Length", "0"))
        body = self.rfile.read(length).decode("utf-8")
        url = urllib.parse.urlsplit(self.path)
        with self.server.lock:
            self.server.posts.append({
                "path": url.path, "query": urllib.parse.parse_qs(url.query),
                "content_type": self.headers.get("Content-Type", ""),
                "body": json.loads(body)})
        reply = {"code": 0} if url.path == "/feishu" else {"errcode": 0, "errmsg": "ok"}
        data = json.dumps(reply).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


class Rsyslog:
    """A real rsyslogd in the foreground: imtcp on a loopback port it picks, the parsed
    messages written to a file."""

    def __init__(self, work):
        self.dir = os.path.join(work, "rsyslog")
        os.makedirs(os.path.join(self.dir, "work"))
        self.out = os.path.join(self.dir, "received.log")
        port_file = os.path.join(self.dir, "port")
        conf = os.path.join(self.dir, "rsyslog.conf")
        with open(conf, "w") as f:
            f.write(f'''global(workDirectory="{self.dir}/work")
module(load="imtcp")
template(name="edusight" type="string"
         string="%pri% %hostname% %app-name% %msgid% %structured-data% %msg%\\n")
ruleset(name="alerts") {{
  action(type="omfile" file="{self.out}" template="edusight")
}}
input(type="imtcp" address="127.0.0.1" port="0" listenPortFileName="{port_file}"
      ruleset="alerts")
''')
        self.proc = subprocess.Popen(
            ["rsyslogd", "-n", "-f", conf, "-i", os.path.join(self.dir, "pid")],
            stdout=subprocess.DEVNULL, stderr=open(os.path.join(self.dir, "stderr"), "w"))
        self.port = wait_for(lambda: self._port(port_file), 20)
        if not self.port:
            self.stop()
            raise RuntimeError("rsyslogd did not start")

    @staticmethod
    def _port(path):
        try:
            with open(path) as f:
                text = f.read().strip()
            return int(text) if text else None
        except OSError:
            return None

    def lines(self):
        try:
            with open(self.out, encoding="utf-8", errors="replace") as f:
                return [line for line in f.read().splitlines() if line]
        except OSError:
            return []

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)


class Alerts(unittest.TestCase):
    def setUp(self):
        self.work = tempfile.mkdtemp(prefix="es-alerts-")
        self.rules = os.path.join(self.work, "rules")
        shutil.copytree(RULES, self.rules)
        self.receiver = Receiver()
        threading.Thread(target=self.receiver.serve_forever, daemon=True).start()
        self.rsyslog = Rsyslog(self.work)
        base = f"http://127.0.0.1:{self.receiver.server_address[1]}"
        self.c = Collector("alerts")
        with open(self.c.config, "a") as f:
            f.write(f"""rules: [{self.rules}]
alerts:
  poll_interval: 200ms
  link_base: https://edusight.demo-univ.edu.cn
notifications:
  - name: security-center
    type: webhook
    url: {base}/hook
    headers: {{X-Edusight-Test: "yes"}}
  - name: wecom-group
    type: wecom
    url: {base}/wecom
  - name: dingtalk-group
    type: dingtalk
    url: {base}/dingtalk?access_token=t0
    secret: {SECRET}
  - name: feishu-group
    type: feishu
    url: {base}/feishu
    secret: {SECRET}
  - name: siem
    type: syslog
    transport: tcp
    address: 127.0.0.1:{self.rsyslog.port}
    min_severity: high
""")
        self.key, self.key_file = self.c.add_agent("alerts-agent")

    def tearDown(self):
        self.c.cleanup()
        self.rsyslog.stop()
        self.receiver.shutdown()
        shutil.rmtree(self.work, ignore_errors=True)

    def send(self, scan, findings):
        path = os.path.join(self.work, f"{scan}.jsonl")
        with open(path, "w") as f:
            for rec in findings:
                f.write(json.dumps(dict(rec, scan=scan, observed_at="2026-11-25T12:00:00Z"),
                                   ensure_ascii=False) + "\n")
        p = subprocess.run(
            [AGENT, "send", path, "--agent-id", "alerts-agent", "--agent-key-file", self.key_file,
             "--collector", f"127.0.0.1:{self.c.forward_port}", "--collector-ca", self.c.cert,
             "--collector-server-name", "localhost", "--spool-dir",
             os.path.join(self.work, "spool"), "--job", "nightly", "--scan-complete"],
            capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)

    def alerts(self, **params):
        query = urllib.parse.urlencode(dict(params, limit=100))
        status, body = self.c.api(f"/api/v1/alerts?{query}", token="viewer")
        self.assertEqual(status, 200, body)
        return {a["rule"]: a for a in body["items"]}

    def webhook_events(self):
        return [(p["body"]["event"], p["body"]["alert"]["rule"])
                for p in self.receiver.bodies("/hook")]

    def test_finding_to_alert_to_receivers_ack_and_resolve(self):
        self.c.start()
        self.send("scan-1", [OPEN_RESOLVER, WEAK_TLS, SLOW])

        # The collector's rules judged the findings: two alerting rules, the slow site none.
        alerts = wait_for(lambda: len(self.alerts(state="active")) == 2 and
                          self.alerts(state="active"), 30)
        self.assertEqual(set(alerts), {"dns-open-resolver", "tls-weak-protocol"})
        resolver = alerts["dns-open-resolver"]
        self.assertEqual(resolver["state"], "firing")
        self.assertEqual(resolver["subject"], "192.0.2.54")
        self.assertEqual(resolver["severity"], "high")
        self.assertEqual(resolver["tags"], ["第17条"])
        self.assertEqual(resolver["title_zh"], "开放递归DNS解析器")
        status, finding = self.c.api(f"/api/v1/findings/{resolver['finding_id']}", token="viewer")
        self.assertEqual(status, 200)
        self.assertEqual(finding["policy"]["alerting"], ["dns-open-resolver"])

        # Every HTTP channel got both firing notices, in its own format.
        self.assertTrue(wait_for(lambda: len(self.receiver.bodies("/hook")) >= 2 and
                                 len(self.receiver.bodies("/wecom")) >= 2 and
                                 len(self.receiver.bodies("/dingtalk")) >= 2 and
                                 len(self.receiver.bodies("/feishu")) >= 2, 30),
                        f"posts: {[p['path'] for p in self.receiver.posts]}\n{self.c.log()}")
        self.assertEqual(sorted(self.webhook_events()),
                         [("firing", "dns-open-resolver"), ("firing", "tls-weak-protocol")])
        hook = next(p for p in self.receiver.bodies("/hook")
                    if p["body"]["alert"]["rule"] == "dns-open-resolver")
        self.assertTrue(hook["content_type"].startswith("application/json"))
        self.assertEqual(hook["body"]["alert"]["subject"], "192.0.2.54")
        self.assertEqual(hook["body"]["link"],
                         f"https://edusight.demo-univ.edu.cn/api/v1/alerts/{resolver['id']}")
        wecom = self.receiver.bodies("/wecom")[0]["body"]
        self.assertEqual(wecom["msgtype"], "markdown")
        self.assertTrue(any("开放递归DNS解析器" in p["body"]["markdown"]["content"]
                            for p in self.receiver.bodies("/wecom")))
        # DingTalk's signature: HMAC-SHA256 of "timestamp\nsecret" keyed by the secret.
        ding = self.receiver.bodies("/dingtalk")[0]
        self.assertEqual(ding["body"]["msgtype"], "markdown")
        ts = ding["query"]["timestamp"][0]
        want = base64.b64encode(hmac.new(SECRET.encode(), f"{ts}\n{SECRET}".encode(),
                                         hashlib.sha256).digest()).decode()
        self.assertEqual(ding["query"]["sign"], [want])
        self.assertEqual(ding["query"]["access_token"], ["t0"])
        # Feishu's: HMAC-SHA256 keyed by "timestamp\nsecret" over nothing.
        feishu = self.receiver.bodies("/feishu")[0]["body"]
        want = base64.b64encode(hmac.new(f"{feishu['timestamp']}\n{SECRET}".encode(), b"",
                                         hashlib.sha256).digest()).decode()
        self.assertEqual(feishu["sign"], want)

        # The SIEM takes only high and above: the open resolver, not the weak TLS.
        lines = wait_for(lambda: self.rsyslog.lines(), 30)
        self.assertEqual(len(lines), 1, lines)
        self.assertIn("dns-open-resolver", lines[0])
        self.assertIn(" edusight-collector firing ", lines[0])
        self.assertIn('subject="192.0.2.54"', lines[0])

        # Acknowledged through the API by the admin token's holder.
        status, acked = self.c.api(f"/api/v1/alerts/{resolver['id']}/acknowledge", method="POST",
                                   body={"comment": "已通知网络中心关闭递归"})
        self.assertEqual(status, 200, acked)
        self.assertEqual(acked["state"], "acknowledged")
        self.assertEqual(acked["acknowledged_by"], "itest-admin")
        status, _ = self.c.api(f"/api/v1/alerts/{resolver['id']}/acknowledge", token="viewer",
                               method="POST", body={})
        self.assertEqual(status, 403)

        # The next scan of the same job no longer finds the resolver: its alert resolves and
        # the resolution is announced; the weak TLS alert counts a repeat.
        self.send("scan-2", [WEAK_TLS, SLOW])
        resolved = wait_for(lambda: self.alerts(state="resolved").get("dns-open-resolver"), 30)
        self.assertTrue(resolved, self.c.log())
        self.assertEqual(resolved["id"], resolver["id"])
        self.assertEqual(resolved["acknowledged_by"], "itest-admin")
        self.assertIsNotNone(resolved["resolved_at"])
        weak = self.alerts(state="active")["tls-weak-protocol"]
        self.assertEqual(weak["repeats"], 2)
        self.assertTrue(wait_for(lambda: ("resolved", "dns-open-resolver") in
                                 self.webhook_events(), 30), self.webhook_events())
        lines = wait_for(lambda: len(self.rsyslog.lines()) >= 2 and self.rsyslog.lines(), 30)
        self.assertTrue(lines)
        self.assertIn(" resolved ", lines[1])
        # Nothing announced twice: one firing each, one resolution.
        self.assertEqual(sorted(self.webhook_events()),
                         [("firing", "dns-open-resolver"), ("firing", "tls-weak-protocol"),
                          ("resolved", "dns-open-resolver")])
        status, metrics = self.c.api("/metrics", token=None)
        self.assertEqual(status, 200)
        self.assertIn('edusight_notifications_sent_total{channel="siem"} 2', metrics)
        self.assertIn('edusight_notifications_sent_total{channel="security-center"} 3', metrics)
        self.assertIn('edusight_notifications_failed_total{channel="wecom-group"} 0', metrics)

    def test_a_broken_rule_file_keeps_the_old_rules(self):
        self.c.start()
        status, body = self.c.api("/api/v1/rules", token="viewer")
        self.assertEqual(status, 200)
        shipped = len(body["rules"])
        self.assertGreater(shipped, 20)

        broken = os.path.join(self.rules, "zz-local.yaml")
        with open(broken, "w") as f:
            f.write("rules:\n  - id: local-resolver\n    kind: dns.open_resolver\n"
                    "    title: {zh: 本地, en: Local}\n    severity: urgent\n")
        # On SIGHUP: logged with file and line, the shipped rules stay in force.
        self.c.proc.send_signal(signal.SIGHUP)
        self.assertTrue(wait_for(lambda: "reload failed" in self.c.log(), 20), self.c.log())
        self.assertIn(f"{broken}:5:15: rule local-resolver: severity 'urgent' is not one of",
                      self.c.log())
        # Through the API: admins only, 422 with the same error.
        status, _ = self.c.api("/api/v1/rules/reload", token="viewer", method="POST", body={})
        self.assertEqual(status, 403)
        status, body = self.c.api("/api/v1/rules/reload", method="POST", body={})
        self.assertEqual(status, 422)
        self.assertTrue(body["error"].startswith(f"{broken}:5:15:"), body)
        status, body = self.c.api("/api/v1/rules", token="viewer")
        self.assertEqual(len(body["rules"]), shipped)
        # The old rules still judge what arrives.
        self.send("scan-1", [OPEN_RESOLVER])
        self.assertTrue(wait_for(lambda: "dns-open-resolver" in self.alerts(), 30))

        # Fixed, and an exception for the resolver: the reload takes both.
        with open(broken, "w") as f:
            f.write("rules:\n  - id: local-resolver\n    kind: dns.open_resolver\n"
                    "    title: {zh: 本地, en: Local}\n    severity: critical\n"
                    "exceptions:\n  - subject: 192.0.2.54\n    rule: dns-open-resolver\n"
                    "    reason: 测试解析器\n    owner: 网络中心\n    expires: 2099-01-01\n")
        status, body = self.c.api("/api/v1/rules/reload", method="POST", body={})
        self.assertEqual(status, 200, body)
        self.assertEqual(body["rules"], shipped + 1)
        self.assertEqual(body["exceptions"], 1)
        # The exception suppresses the shipped rule: its alert resolves with the next scan;
        # the local rule (no alert) sets the severity.
        self.send("scan-2", [OPEN_RESOLVER])
        resolved = wait_for(lambda: self.alerts(state="resolved").get("dns-open-resolver"), 30)
        self.assertTrue(resolved, self.c.log())
        status, findings = self.c.api("/api/v1/findings?kind=dns.open_resolver", token="viewer")
        item = findings["items"][0]
        self.assertEqual(item["severity"], "critical")
        self.assertEqual(item["policy"]["suppressed"][0]["owner"], "网络中心")


if __name__ == "__main__":
    unittest.main(verbosity=2)
