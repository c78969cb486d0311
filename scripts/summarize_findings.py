#!/usr/bin/env python3
"""Summarises the collector's open findings (JSON of /api/v1/findings on stdin) for people:
counts by severity and kind, then the most severe ones."""
import collections
import json
import sys

ORDER = {"critical": 0, "high": 1, "medium": 2, "low": 3, "info": 4}
items = json.load(sys.stdin)["items"]
by_kind = collections.Counter((f["severity"], f["kind"]) for f in items)
print(f"\n{len(items)} open findings stored by the collector, by kind:")
for (sev, kind), n in sorted(by_kind.items(), key=lambda x: (ORDER[x[0][0]], x[0][1])):
    print(f"  {sev:8} {kind:32} {n:4}")
print("\nMost severe:")
for f in sorted(items, key=lambda f: (ORDER[f["severity"]], f["kind"], f["subject"]))[:15]:
    print(f"  {f['severity']:8} {f['kind']:30} {f['subject']:38} {f['title_zh']}")
