"""A real edusight-collector in a temporary data directory, on loopback ports, for the
integration tests: start, kill -9, restart, API calls, and a look into its SQLite file."""
import json
import os
import shutil
import socket
import sqlite3
import subprocess
import tempfile
import time
import urllib.error
import urllib.request

COLLECTOR = os.environ.get("EDUSIGHT_COLLECTOR", "edusight-collector")
AGENT = os.environ.get("EDUSIGHT_AGENT", "edusight-agent")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, timeout=20.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def wait_for(predicate, timeout, step=0.1):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(step)
    return predicate()


class Collector:
    """`extra_config` is appended to the configuration (e.g. a PostgreSQL `database:`);
    `tokens` (admin, viewer) reuses another collector's API tokens on a shared database."""

    def __init__(self, name, extra_config="", tokens=None):
        self.dir = tempfile.mkdtemp(prefix=f"es-{name}-")
        self.data = os.path.join(self.dir, "data")
        self.forward_port = free_port()
        self.api_port = free_port()
        self.enroll_port = free_port()
        self.config = os.path.join(self.dir, "collector.yaml")
        with open(self.config, "w") as f:
            f.write(f"""forward:
  listen: ["127.0.0.1:{self.forward_port}"]
  handshake_timeout: 2s
api:
  listen: ["127.0.0.1:{self.api_port}"]
enroll:
  listen: ["127.0.0.1:{self.enroll_port}"]
""" + extra_config)
        self.proc = None
        self.log_path = os.path.join(self.dir, "collector.log")
        if tokens:
            self.admin, self.viewer = tokens
        else:
            self.admin = self.cli("token", "create", "--name", "itest-admin", "--role", "admin")
            self.viewer = self.cli("token", "create", "--name", "itest-viewer", "--role",
                                   "viewer")

    @property
    def cert(self):
        return os.path.join(self.data, "tls", "collector.crt")

    def cli(self, *args):
        p = subprocess.run([COLLECTOR, "--config", self.config, "--data-dir", self.data, *args],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != 0:
            raise RuntimeError(f"edusight-collector {' '.join(args)}: {p.stderr}")
        return p.stdout.strip()

    def add_agent(self, agent_id, campus=None):
        key_file = os.path.join(self.dir, f"{agent_id}.key")
        extra = ["--campus", campus] if campus else []
        key = self.cli("agent", "add", agent_id, "--key-file", key_file, *extra)
        return key, key_file

    def start(self):
        log = open(self.log_path, "a")
        self.proc = subprocess.Popen(
            [COLLECTOR, "--config", self.config, "--data-dir", self.data],
            stdout=log, stderr=subprocess.STDOUT)
        if not (wait_port(self.forward_port) and wait_port(self.api_port)):
            raise RuntimeError("collector did not start:\n" + self.log())
        return self

    def kill9(self):
        self.proc.kill()
        self.proc.wait(timeout=10)

    def stop(self):
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)

    def cleanup(self):
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def metric(self, name):
        """The value of an unlabelled metric on /metrics, or None."""
        status, text = self.api("/metrics", token=None)
        if status != 200:
            return None
        for line in text.splitlines():
            if line.startswith(name + " "):
                return float(line.split()[1])
        return None

    def log(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def api(self, path, token="admin", method="GET", body=None):
        """(status, parsed JSON or text)"""
        headers = {}
        if token:
            headers["Authorization"] = "Bearer " + (self.admin if token == "admin" else
                                                    self.viewer if token == "viewer" else token)
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        req = urllib.request.Request(f"http://127.0.0.1:{self.api_port}{path}", data=data,
                                     headers=headers, method=method)
        try:
            with urllib.request.urlopen(req, timeout=30) as r:
                status, text = r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            status, text = e.code, e.read().decode()
        try:
            return status, json.loads(text)
        except ValueError:
            return status, text

    def db(self, sql, *params):
        """Reads the collector's database directly (WAL lets it run beside the collector)."""
        con = sqlite3.connect(f"file:{os.path.join(self.data, 'edusight.db')}?mode=ro",
                              uri=True, timeout=10)
        try:
            return con.execute(sql, params).fetchall()
        finally:
            con.close()
