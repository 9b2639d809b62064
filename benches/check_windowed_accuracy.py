#!/usr/bin/env python3
"""Recomputes the windowed-accuracy benchmark from its input with plain Python and checks OUT.csv.

Usage: python3 benches/check_windowed_accuracy.py INPUT.jsonl OUT.csv
"""
import json, sys, collections
cnt = collections.Counter(); cor = collections.Counter()
with open(sys.argv[1]) as f:
    for line in f:
        r = json.loads(line)
        k = (r["DAY_OF_WEEK"], r["ts"] // 120 * 120)
        cnt[k] += 1; cor[k] += r["pred"] == r["label"]
rows = {}
with open(sys.argv[2]) as f:
    assert next(f).strip() == "key,window_start,count,accuracy"
    for line in f:
        k, s, c, a = line.strip().split(",")
        rows[(int(k), int(s))] = (int(c), float(a))
assert set(rows) == set(cnt), (len(rows), len(cnt))
for k in cnt:
    c, a = rows[k]
    assert c == cnt[k], k
    assert abs(a - cor[k] / cnt[k]) < 1e-6, k
print("OK", len(rows), "rows match")
