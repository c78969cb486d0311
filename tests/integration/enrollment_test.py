#!/usr/bin/env python3
"""Agent enrollment end to end, real binaries on loopback: an administrator makes a token,
the agent trades it for its identity over TLS (pinned or CA-verified), delivers findings under
that identity, and is refused once revoked; used, expired, revoked and unknown tokens and
wrong pins are refused with their reason."""
import hashlib
import os
import re
import signal
import socket
import ssl
import stat
import subprocess
import sys
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import AGENT, Collector, wait_for, wait_port  # noqa: E402

FINDING = ('{"kind": "dns.open_resolver", "severity": "high", "subject": "192.0.2.54", '
           '"title": "Open resolver", "title_zh": "开放递归解析器", "scan": "enroll-scan", '
           '"observed_at": "2026-11-25T12:00:00Z", "evidence": {"query": "www.example.com"}}\n')


def read_identity(path):
    """The identity file's scalar values (it is flat YAML the agent writes itself)."""
    values = {}
    with open(path) as f:
        for line in f:
            m = re.match(r"^\s*(\w+):\s*(.*)$", line)
            if m and m.group(2):
                values[m.group(1)] = m.group(2).strip().strip('"')
    return values


class Enrollment(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Collector("enroll")
        cls.c.start()
        if not wait_port(cls.c.enroll_port):
            raise RuntimeError("no enrollment listener:\n" + cls.c.log())
        with open(cls.c.cert) as f:
            der = ssl.PEM_cert_to_DER_cert(f.read())
        cls.pin = hashlib.sha256(der).hexdigest()
        cls.n = 0

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def create(self, *args):
        out = self.c.cli("enrollment", "create", *args).splitlines()
        self.assertEqual(len(out), 2, out)
        return out[0], out[1]

    def identity_path(self):
        Enrollment.n += 1
        return os.path.join(self.c.dir, f"identity-{self.n}", "identity.yaml")

    def enroll(self, token, *extra, identity=None, pin=True):
        args = [AGENT, "enroll", "--collector", f"127.0.0.1:{self.c.enroll_port}",
                "--token", token, "--identity-file", identity or self.identity_path()]
        if pin:
            args += ["--pin", self.pin]
        return subprocess.run(args + list(extra), capture_output=True, text=True, timeout=60)

    def enrollments(self):
        rows = {}
        for line in self.c.cli("enrollment", "list").splitlines():
            cols = line.split("\t")
            rows[cols[0]] = cols
        return rows

    def test_enroll_deliver_then_revoke(self):
        token, command = self.create("--ttl", "1h", "--name", "first", "--comment", "lab 3")
        self.assertTrue(token.startswith("ese_"), token)
        self.assertIn(f"--token {token}", command)
        self.assertIn(f"--pin {self.pin}", command)  # the Forward certificate's pin
        self.assertIn(f":{self.c.enroll_port} ", command)
        identity = self.identity_path()
        p = self.enroll(token, "--agent-id", "lab-pc-1", identity=identity)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(stat.S_IMODE(os.stat(identity).st_mode), 0o600)
        ident = read_identity(identity)
        self.assertEqual(ident["agent_id"], "lab-pc-1")
        self.assertTrue(ident["key"].startswith("esk_"))
        self.assertEqual(ident["host"], "127.0.0.1")
        self.assertEqual(int(ident["port"]), self.c.forward_port)
        self.assertEqual(ident["pin_sha256"], self.pin)
        log = self.c.log()
        self.assertIn("enroll: agent lab-pc-1 enrolled from 127.0.0.1 (token first)", log)
        self.assertNotIn(token, log)  # neither the token nor the key is ever logged
        self.assertNotIn(ident["key"], log)
        self.assertEqual(self.enrollments()["first"][1], "used")

        # The identity works for Forward: findings stored under the enrolled id.
        findings = os.path.join(self.c.dir, "findings.jsonl")
        with open(findings, "w") as f:
            f.write(FINDING)
        p = subprocess.run(
            [AGENT, "send", findings, "--agent-id", ident["agent_id"], "--agent-key",
             ident["key"], "--collector", f"127.0.0.1:{ident['port']}", "--collector-pin",
             ident["pin_sha256"]], capture_output=True, text=True, timeout=120)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertEqual(self.c.db("SELECT agent, subject FROM findings"),
                         [("lab-pc-1", "192.0.2.54")])

        # The same token again: used.
        p = self.enroll(token, "--agent-id", "lab-pc-2")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("already used", p.stderr)
        self.assertIn("refused 127.0.0.1: used", self.c.log())

        # The daemon runs on the identity file alone (no collector section).
        config = os.path.join(self.c.dir, "agent.yaml")
        with open(config, "w") as f:
            f.write(f"agent:\n  identity_file: {identity}\n"
                    f"  spool_dir: {os.path.join(self.c.dir, 'daemon-spool')}\n"
                    "  heartbeat_interval: 200ms\n")
        daemon = subprocess.Popen([AGENT, "run", "--config", config],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            def heartbeat():
                status, body = self.c.api("/api/v1/agents/lab-pc-1")
                return status == 200 and body.get("last_heartbeat")
            self.assertTrue(wait_for(heartbeat, 30), self.c.log())

            # Revoked through the API: its connection is closed and its next handshake refused.
            status, body = self.c.api("/api/v1/agents/lab-pc-1", method="DELETE")
            self.assertEqual(status, 200, body)
            self.assertTrue(wait_for(
                lambda: 'agent revoked (client hostname "lab-pc-1")' in self.c.log(), 60),
                self.c.log())
        finally:
            daemon.send_signal(signal.SIGTERM)
            try:
                daemon.wait(timeout=20)
            except subprocess.TimeoutExpired:
                daemon.kill()
                daemon.wait(timeout=5)

    def test_expired_token_is_refused(self):
        token, _ = self.create("--ttl", "2s", "--name", "short")
        time.sleep(3)
        p = self.enroll(token, "--agent-id", "late")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("expired", p.stderr)
        self.assertIn("refused 127.0.0.1: expired", self.c.log())

    def test_revoked_and_unknown_tokens_are_refused(self):
        token, _ = self.create("--name", "withdrawn")
        self.c.cli("enrollment", "revoke", "withdrawn")
        self.assertEqual(self.enrollments()["withdrawn"][1], "revoked")
        p = self.enroll(token, "--agent-id", "never")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("revoked", p.stderr)
        p = self.enroll("ese_" + "A" * 43, "--agent-id", "never")
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("does not know this token", p.stderr)
        status, body = self.c.api("/api/v1/agents/never")
        self.assertEqual(status, 404, body)

    def test_wrong_pin_never_sends_the_token(self):
        token, _ = self.create("--name", "pinned")
        before = self.c.log()
        p = subprocess.run(
            [AGENT, "enroll", "--collector", f"127.0.0.1:{self.c.enroll_port}", "--token", token,
             "--pin", "ab" * 32, "--identity-file", self.identity_path()],
            capture_output=True, text=True, timeout=60)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("does not match --pin", p.stderr)
        self.assertIn("the token was not sent", p.stderr)
        new = self.c.log()[len(before):]
        self.assertNotIn("enroll: refused", new)
        self.assertNotIn("enrolled", new)
        # Still unused: the right pin redeems it.
        self.assertEqual(self.enrollments()["pinned"][1], "active")
        p = self.enroll(token, "--agent-id", "pinned-pc")
        self.assertEqual(p.returncode, 0, p.stderr)

    def test_ca_file_checks_the_name(self):
        token, _ = self.create("--name", "by-ca")
        p = self.enroll(token, "--agent-id", "ca-pc", "--ca-file", self.c.cert,
                        "--server-name", "wrong.example.edu.cn", pin=False)
        self.assertNotEqual(p.returncode, 0)
        self.assertIn("TLS", p.stderr)
        self.assertEqual(self.enrollments()["by-ca"][1], "active")
        identity = self.identity_path()
        p = self.enroll(token, "--agent-id", "ca-pc", "--ca-file", self.c.cert,
                        "--server-name", "localhost", pin=False, identity=identity)
        self.assertEqual(p.returncode, 0, p.stderr)
        ident = read_identity(identity)
        self.assertEqual(ident["ca_file"], os.path.abspath(self.c.cert))
        self.assertEqual(ident["server_name"], "localhost")
        self.assertNotIn("pin_sha256", ident)

    def test_refusals_before_any_connection(self):
        p = self.enroll("ese_x", pin=False)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--pin", p.stderr)
        # An existing identity is kept unless --force.
        identity = self.identity_path()
        os.makedirs(os.path.dirname(identity))
        with open(identity, "w") as f:
            f.write("agent_id: old\nkey: k\n")
        p = self.enroll("ese_x", identity=identity)
        self.assertEqual(p.returncode, 2)
        self.assertIn("--force", p.stderr)
        with open(identity) as f:
            self.assertIn("old", f.read())

    def post_raw(self, body):
        """POST /api/v1/enroll from an unverified client (this test's own loopback collector)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        with socket.create_connection(("127.0.0.1", self.c.enroll_port), timeout=10) as raw:
            with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
                tls.sendall(b"POST /api/v1/enroll HTTP/1.1\r\nHost: localhost\r\n"
                            b"Content-Type: application/json\r\nContent-Length: "
                            + str(len(body)).encode() + b"\r\n\r\n" + body)
                answer = b""
                while len(answer) < 65536:
                    chunk = tls.recv(4096)
                    if not chunk:
                        break
                    answer += chunk
        return answer.decode(errors="replace")

    def test_the_listener_is_tls_only_and_bounds_the_body(self):
        answer = self.post_raw(b'{"token": "' + b"x" * 8000 + b'"}')
        self.assertTrue(answer.startswith("HTTP/1.1 413"), answer[:200])
        answer = self.post_raw(b"not json")
        self.assertTrue(answer.startswith("HTTP/1.1 400"), answer[:200])
        # Plain HTTP gets no answer: the listener speaks TLS only.
        with socket.create_connection(("127.0.0.1", self.c.enroll_port), timeout=10) as raw:
            raw.sendall(b"POST /api/v1/enroll HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}")
            try:
                data = raw.recv(4096)
            except OSError:
                data = b""
            self.assertFalse(data.startswith(b"HTTP/"), data[:100])

    def test_api_makes_lists_and_revokes_tokens(self):
        status, body = self.c.api("/api/v1/enrollments", method="POST",
                                  body={"name": "via-api", "ttl": "1h", "uses": 2})
        self.assertEqual(status, 201, body)
        token = body["token"]
        status, _ = self.c.api("/api/v1/enrollments", token="viewer")
        self.assertEqual(status, 403)
        for agent in ("api-pc-1", "api-pc-2"):
            p = self.enroll(token, "--agent-id", agent)
            self.assertEqual(p.returncode, 0, p.stderr)
        status, body = self.c.api("/api/v1/enrollments")
        item = [i for i in body["items"] if i["name"] == "via-api"][0]
        self.assertEqual((item["uses"], item["state"], item["used_by"]), (2, "used", "api-pc-2"))
        status, body = self.c.api("/api/v1/enrollments/via-api", method="DELETE")
        self.assertEqual(status, 200, body)
        status, text = self.c.api("/metrics", token=None)
        self.assertRegex(text, r'edusight_enrollments_total\{result="enrolled"\} [1-9]')


class RateLimit(unittest.TestCase):
    """Guessing tokens from one address stops at enroll.max_failures."""

    def test_failed_attempts_are_limited_per_address(self):
        c = Collector("enroll-limit")
        try:
            with open(c.config, "a") as f:
                f.write("  max_failures: 2\n  failure_window: 1h\n")
            c.start()
            self.assertTrue(wait_port(c.enroll_port), c.log())
            with open(c.cert) as f:
                pin = hashlib.sha256(ssl.PEM_cert_to_DER_cert(f.read())).hexdigest()
            token = c.cli("enrollment", "create", "--name", "real").splitlines()[0]

            def enroll(t, agent):
                return subprocess.run(
                    [AGENT, "enroll", "--collector", f"127.0.0.1:{c.enroll_port}", "--token", t,
                     "--pin", pin, "--agent-id", agent, "--identity-file",
                     os.path.join(c.dir, agent, "identity.yaml")],
                    capture_output=True, text=True, timeout=60)
            for i in range(2):
                p = enroll(f"ese_guess{i}", f"guess-{i}")
                self.assertIn("does not know this token", p.stderr)
            p = enroll(token, "real-pc")  # the right token, but from a blocked address
            self.assertNotEqual(p.returncode, 0)
            self.assertIn("too many failed attempts", p.stderr)
            self.assertIn("refused 127.0.0.1: rate_limited", c.log())
            status, text = c.api("/metrics", token=None)
            self.assertIn('edusight_enrollments_total{result="rate_limited"} 1', text)
            self.assertIn('edusight_enrollments_total{result="unknown"} 2', text)
        finally:
            c.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
