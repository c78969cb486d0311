#!/usr/bin/env python3
"""One line from GET /api/v1/overview (read on stdin), for the demonstration's summary."""
import json
import sys

o = json.load(sys.stdin)
s, v, a = o["systems"], o["ipv6"], o["alerts"]
print(f"Overview: {s['total']} systems, {s['by_ownership']['dual_non_own']} 双非, "
      f"{s['unregistered']} unregistered, {s['zombie']} zombie; IPv6 works on "
      f"{100 * v['support_rate']:.0f}% of {v['systems_checked']} checked; "
      f"second-level links {v['links']['level2']['ipv6']}/{v['links']['level2']['total']}, "
      f"third-level {v['links']['level3']['ipv6']}/{v['links']['level3']['total']}; "
      f"{a['open']} open alerts")
