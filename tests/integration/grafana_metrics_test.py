#!/usr/bin/env python3
"""The Grafana dashboards (dashboards/grafana/*.json) name only metrics the real collector
exports: a collector with a notification channel is started and its /metrics read."""
import glob
import json
import os
import re
import sys
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from collector_harness import Collector, free_port  # noqa: E402

SOURCE = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DASHBOARDS = sorted(glob.glob(os.path.join(SOURCE, "dashboards", "grafana", "*.json")))


def exprs(node):
    if isinstance(node, dict):
        for k, v in node.items():
            if k == "expr" or (k == "query" and isinstance(v, str)):
                yield v
            else:
                yield from exprs(v)
    elif isinstance(node, list):
        for v in node:
            yield from exprs(v)


class GrafanaDashboards(unittest.TestCase):
    def test_every_metric_named_is_exported(self):
        self.assertGreaterEqual(len(DASHBOARDS), 2)
        c = Collector("grafana")
        try:
            with open(c.config, "a") as f:
                f.write(f"""notifications:
  - name: security-center
    type: webhook
    url: http://127.0.0.1:{free_port()}/hook
""")
            c.start()
            status, text = c.api("/metrics", token=None)
            self.assertEqual(status, 200)
            exported = set(re.findall(r"^# TYPE (\S+) ", text, re.M))
            self.assertIn("edusight_store_findings_committed_total", exported)
            for path in DASHBOARDS:
                with open(path) as f:
                    board = json.load(f)
                self.assertTrue(board["panels"], path)
                named = set()
                for e in exprs(board):
                    named.update(re.findall(r"\bedusight_[a-z0-9_]+", e))
                self.assertTrue(named, path)
                missing = sorted(named - exported)
                self.assertEqual(missing, [], f"{os.path.basename(path)} names metrics the "
                                             f"collector does not export: {missing}")
                print(f"{os.path.basename(path)}: {len(named)} metrics, all exported",
                      file=sys.stderr)
        finally:
            c.cleanup()


if __name__ == "__main__":
    unittest.main(verbosity=2)
