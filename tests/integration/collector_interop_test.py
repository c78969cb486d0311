#!/usr/bin/env python3
"""The collector with outside parties: fluent-logger (npm, Node.js) as a Forward client in all
its event modes over TLS with the shared-key handshake; a wrong key refused; malformed and
truncated frames closing only their own connection; the API's tokens and roles."""
import os
import socket
import ssl
import subprocess
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import Collector, wait_for  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
INTEROP = os.path.join(ROOT, "tests", "interop")


def fluent_logger(c, agent, key, count):
    return subprocess.run(
        ["node", os.path.join(INTEROP, "send_with_fluent_logger.js"), "127.0.0.1",
         str(c.forward_port), c.cert, agent, key, str(count)],
        capture_output=True, text=True, timeout=120, cwd=INTEROP)


def closed_by_server(sock, timeout=10.0):
    """Reads (the HELO) until the collector closes the connection; bounded."""
    sock.settimeout(timeout)
    for _ in range(100):
        try:
            if not sock.recv(65536):
                return True
        except (ssl.SSLError, ConnectionError):
            return True
        except socket.timeout:
            return False
    return False


class OutsideForwardClient(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.c = Collector("interop")
        cls.key, _ = cls.c.add_agent("node-agent")
        cls.c.start()

    @classmethod
    def tearDownClass(cls):
        cls.c.cleanup()

    def test_fluent_logger_all_modes_and_wrong_key(self):
        # Bad connections first and alongside: they must not disturb the good client.
        ctx = ssl.create_default_context(cafile=self.c.cert)
        garbage = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.c.forward_port)),
                                  server_hostname="localhost")
        garbage.sendall(b"\xc1\xc1\xc1 not msgpack at all")
        truncated = ctx.wrap_socket(socket.create_connection(("127.0.0.1", self.c.forward_port)),
                                    server_hostname="localhost")
        truncated.sendall(b"\x93\xa4PING\xda\x10")  # a str16 header promising 4,096 bytes
        truncated.close()

        p = fluent_logger(self.c, "node-agent", self.key, 20)
        self.assertEqual(p.returncode, 0, p.stdout + p.stderr)
        self.assertIn('"sent":60', p.stdout)
        self.assertIn("Authentication failed: shared key mismatch", p.stdout)
        self.assertTrue(closed_by_server(garbage))

        status, body = self.c.api("/api/v1/findings?limit=1000&kind=asset.unregistered")
        self.assertEqual(status, 200, body)
        self.assertEqual(body["total"], 60)
        modes = {f["evidence"]["mode"] for f in body["items"]}
        self.assertEqual(modes, {"Message", "PackedForward", "CompressedPackedForward"})
        self.assertTrue(all(f["agent"] == "node-agent" for f in body["items"]))

        log = self.c.log()
        self.assertIn('auth: shared key mismatch (client hostname "node-agent")', log)
        self.assertRegex(log, r"closing 127\.0\.0\.1:\d+: handshake: ")
        metrics = self.c.api("/metrics", token=None)[1]
        # The wrong key and the garbage in place of a PING.
        self.assertIn("edusight_forward_auth_failures_total 2", metrics)

    def test_api_tokens_and_roles(self):
        self.assertEqual(self.c.api("/api/v1/findings", token=None)[0], 401)
        self.assertEqual(self.c.api("/api/v1/findings", token="es_not_a_token")[0], 401)
        self.assertEqual(self.c.api("/api/v1/findings", token="viewer")[0], 200)
        self.assertEqual(self.c.api("/api/v1/agents", token="viewer", method="POST",
                                    body={"id": "sneaky"})[0], 403)
        status, created = self.c.api("/api/v1/agents", method="POST", body={"id": "new-agent"})
        self.assertEqual(status, 201, created)
        self.assertTrue(created["key"])
        status, agents = self.c.api("/api/v1/agents", token="viewer")
        self.assertEqual(status, 200)
        self.assertIn("new-agent", [a["id"] for a in agents["items"]])
        self.assertEqual(self.c.api("/healthz", token=None)[0], 200)


if __name__ == "__main__":
    unittest.main(verbosity=2)
