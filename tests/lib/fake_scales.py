#!/usr/bin/env python3
"""fake_scales.py RUN: gives every task folder of a copied fixture run a
scales.json as `dacc run --scales 0,0.5,1,2` writes it (docs/RUNDIR.md),
with invented but self-consistent numbers: each entry's y, x^, delta and
per-image histogram agree, delta is 0 at scale 0 and falls with the scale.
config.json gets the "key" the entries belong to. For the figure and
dashboard tests only: the numbers mean nothing."""
import glob, json, os, sys
for d in glob.glob(os.path.join(sys.argv[1], "tasks", "*")):
    cfg = json.load(open(os.path.join(d, "config.json")))
    key = "fixture-%s" % cfg["variant"]
    open(os.path.join(d, "config.json"), "w").write('{"key":%s,%s' % (json.dumps(key), json.dumps(cfg)[1:]))
    r = json.load(open(os.path.join(d, "results.json")))
    entries = []
    for s in (0, 0.5, 1, 2):
        e = {"scale": s, "set_train": "a-train-%g.npz" % s, "set_test": "a-test-%g.npz" % s}
        for p in ("heldout", "paper"):
            n, nb, clean = r[p]["n"], len(r[p]["y"]), r[p]["clean"]
            right = round(clean * n)
            lost = min(right, round(n * 0.02 * s * (1 + 0.1 * len(entries))))
            # every clean-right image keeps all blocks, except `lost` that keep none
            hist = [0] * (2 * (nb + 1))
            hist[0] = n - right
            hist[nb + 1] = lost
            hist[2 * nb + 1] = right - lost
            y = [(right - lost) / n] * nb
            e[p] = {"clean": right / n, "y": y, "xhat": y[0], "delta": y[0] - right / n, "n": n, "hist": hist}
        entries.append(e)
    json.dump({"variant": r["variant"], "seed": r["seed"], "key": key, "scales": entries},
              open(os.path.join(d, "scales.json"), "w"))
