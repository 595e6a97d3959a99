#!/usr/bin/env python3
"""Checks what `dacc report` wrote into OUT (figures/*.svg, report.html)
against the CSV files it wrote next to them and the run directory RUN.

  check_figures.py RUN OUT [--expect-note TEXT]... [--dom DOM.html]

Every SVG must parse as XML; the bars, lines and digits counted from their
class names must match the study; every number a figure or table carries
(data-value, data-lo, data-hi, printed labels) must equal summary.csv's or
results.csv's; the PNG digits must decode to inspect.json's pixels. With
--dom, the DOM a browser built from report.html (chromium --dump-dom) must
hold every figure and table values equal to summary.csv's. Prints
"N passed, N failed" like the C tests and exits 1 on any failure."""
import base64, csv, glob, json, os, re, struct, sys, zlib
import xml.etree.ElementTree as ET

NS = {"s": "http://www.w3.org/2000/svg"}
passed = failed = 0


def check(cond, msg):
    global passed, failed
    if cond:
        passed += 1
    else:
        failed += 1
        print("FAIL:", msg, file=sys.stderr)


def fnum(x):
    return None if x in ("n/a", "", None) else float(x)


def classes(el):
    return set(el.get("class", "").split())


def find(root, tag, *cls):
    return [e for e in root.iter("{%s}%s" % (NS["s"], tag)) if set(cls) <= classes(e)]


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def png_pixels(data):
    """Decodes the 8-bit greyscale, filter-0 PNGs dacc writes (checks CRCs)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "PNG signature"
    p, idat = 8, b""
    w = h = None
    while p < len(data):
        (n,) = struct.unpack(">I", data[p:p + 4])
        typ, body = data[p + 4:p + 8], data[p + 8:p + 8 + n]
        (crc,) = struct.unpack(">I", data[p + 8 + n:p + 12 + n])
        assert zlib.crc32(typ + body) == crc, "chunk CRC"
        if typ == b"IHDR":
            w, h, depth, colour = struct.unpack(">IIBB", body[:10])
            assert depth == 8 and colour == 0
        elif typ == b"IDAT":
            idat += body
        p += 12 + n
    raw = zlib.decompress(idat)
    assert len(raw) == h * (w + 1)
    rows = [raw[y * (w + 1):(y + 1) * (w + 1)] for y in range(h)]
    assert all(r[0] == 0 for r in rows)
    return b"".join(r[1:] for r in rows)


def main():
    args = sys.argv[1:]
    run, out = args[0], args[1]
    notes = [args[i + 1] for i, a in enumerate(args) if a == "--expect-note"]
    every = read_csv(os.path.join(out, "summary.csv"))
    summary = [r for r in every if not r.get("scale")]  # the study's own set
    scale_rows = [r for r in every if r.get("scale")]  # dacc run --scales
    results = read_csv(os.path.join(out, "results.csv"))
    rows = {(r["protocol"], r["variant"]): r for r in summary}
    svgs = {}
    for path in sorted(glob.glob(os.path.join(out, "figures", "*.svg"))):
        try:
            svgs[os.path.basename(path)] = ET.parse(path).getroot()
            check(True, path)
        except ET.ParseError as e:
            check(False, "%s does not parse: %s" % (path, e))
    for name in ("fig3-accuracy.svg", "fig4-delta.svg", "training-curves.svg", "fig5-digits.svg"):
        check(name in svgs, "figures/%s missing" % name)
    check_bars(svgs.get("fig3-accuracy.svg"), svgs.get("fig4-delta.svg"), summary, results, rows)
    check_curves(svgs.get("training-curves.svg"), run, summary)
    check_digits(svgs.get("fig5-digits.svg"), run, summary)
    dom = [args[i + 1] for i, a in enumerate(args) if a == "--dom"]
    html = open(os.path.join(out, "report.html")).read()
    check_scales(svgs.get("delta-scale.svg"), html, scale_rows)
    check("<script" not in html.lower() and not re.search(r'(src|href)="(https?:|//)', html)
          and "<link" not in html.lower(), "report.html loads something from outside")
    for d in dom:
        check_dom(open(d).read(), summary)
    for n in notes:
        check(any(n in "".join(e.itertext()) for s in svgs.values() for e in find(s, "text", "note")),
              "no figure has the note %r" % n)
    print("%d passed, %d failed" % (passed, failed))
    return 1 if failed else 0


def check_dom(dom, summary):
    for fid in ("fig3-accuracy", "fig4-delta", "training-curves", "fig5-digits"):
        m = re.search(r'<figure id="%s">(.*?)</figure>' % fid, dom, re.S)
        check(m is not None and "<svg" in m.group(1), "report.html: figure %s missing" % fid)
    seen = 0
    for t in re.finditer(r'<table class="results" data-protocol="(\w+)">(.*?)</table>', dom, re.S):
        for tr in re.finditer(r"<tr><td>([^<]*)</td>(.*?)</tr>", t.group(2), re.S):
            r = [x for x in summary if x["protocol"] == t.group(1) and x["variant"] == tr.group(1)]
            check(len(r) == 1, "table row %s/%s not in summary.csv" % (t.group(1), tr.group(1)))
            for what in ("clean", "xhat", "delta"):
                m = re.search(r'<td class="%s"(?: data-value="([^"]*)")?>([^<]*)</td>' % what, tr.group(2))
                want = r[0][what + "_mean"] if r else None
                got = m.group(1) if m else None
                check(got == (None if want == "n/a" else want), "table %s/%s %s: %s, csv %s"
                      % (t.group(1), tr.group(1), what, got, want))
                if m and got:
                    check(m.group(2).startswith("%.2f" % (100 * float(got))), "table text %r" % m.group(2))
            seen += 1
    check(seen == len(summary), "report.html tables have %d rows, summary.csv %d" % (seen, len(summary)))


def expect_interval(el, r, res, what):
    """Over seeds from summary.csv; with one seed over images from results.csv."""
    lo, hi = fnum(el.get("data-lo")), fnum(el.get("data-hi"))
    if int(r["n_seeds"]) > 1:
        want = (fnum(r[what + "_lo"]), fnum(r[what + "_hi"]))
    else:
        want = (fnum(res[what + "_lo"]), fnum(res[what + "_hi"])) if res else (None, None)
    check((lo, hi) == want, "%s %s %s interval %s, csv %s" % (r["protocol"], r["variant"], what, (lo, hi), want))


def check_bars(fig3, fig4, summary, results, rows):
    if fig3 is None or fig4 is None:
        return
    res = {(r["protocol"], r["variant"]): r for r in results}
    for what, fig in (("clean", fig3), ("xhat", fig3), ("delta", fig4)):
        bars = find(fig, "rect", "bar", what)
        want = [r for r in summary if fnum(r[what + "_mean"]) is not None]
        check(len(bars) == len(want), "%d %s bars, summary.csv has %d" % (len(bars), what, len(want)))
        for b in bars:
            r = rows.get((b.get("data-protocol"), b.get("data-variant")))
            check(r is not None, "bar for %s/%s not in summary.csv" % (b.get("data-protocol"), b.get("data-variant")))
            if r is None:
                continue
            check(b.get("data-value") == r[what + "_mean"],
                  "%s %s %s: figure %s, summary.csv %s" % (r["protocol"], r["variant"], what, b.get("data-value"),
                                                            r[what + "_mean"]))
            expect_interval(b, r, res.get((r["protocol"], r["variant"])) if r["n_seeds"] == "1" else None, what)
        # the printed labels: the same numbers in percent, in bar order
        labels = [re.sub("[^0-9.-]", "", "".join(t.itertext())) for t in find(fig, "text", "value")
                  if True]
        shown = ["%.2f" % (100 * float(b.get("data-value"))) for b in bars]
        check(all(x in labels for x in shown), "%s labels %s do not show %s" % (what, labels, shown))
    for p in ("heldout", "paper"):
        ref = [e for e in find(fig4, "line", "refline")]
        r = rows.get((p, "Original"))
        if r and fnum(r["delta_mean"]) is not None:
            check(any(e.get("data-value") == r["delta_mean"] for e in ref), "%s: no Original reference line" % p)


def check_scales(fig, html, scale_rows):
    """delta-scale.svg and report.html's scale table against summary.csv's
    held-out scale rows: one line per variant, one point per row, the same
    numbers; no figure when there are fewer than two scales."""
    held = [r for r in scale_rows if r["protocol"] == "heldout"]
    scales = {r["scale"] for r in held}
    check((fig is not None) == (len(scales) >= 2), "delta-scale.svg present with %d scales" % len(scales))
    cells = re.findall(r'<td class="delta" data-scale="([^"]*)" data-value="([^"]*)"', html)
    check(len(cells) == len(held), "report.html scale table has %d values, summary.csv %d" % (len(cells), len(held)))
    if fig is None:
        return
    lines = find(fig, "polyline", "line", "scale")
    check({l.get("data-variant") for l in lines} == {r["variant"] for r in held}, "delta-scale.svg lines")
    points = find(fig, "circle", "point", "scale")
    check(len(points) == len(held), "%d scale points, summary.csv %d rows" % (len(points), len(held)))
    rows = {(r["variant"], float(r["scale"])): r for r in held}
    for p in points:
        r = rows.get((p.get("data-variant"), float(p.get("data-scale"))))
        check(r is not None, "point %s/%s not in summary.csv" % (p.get("data-variant"), p.get("data-scale")))
        if r is None:
            continue
        check(p.get("data-value") == r["delta_mean"], "scale point %s %s: %s, csv %s"
              % (r["variant"], r["scale"], p.get("data-value"), r["delta_mean"]))
        lo, hi = ("delta_lo", "delta_hi") if int(r["n_seeds"]) > 1 else ("delta_image_lo", "delta_image_hi")
        check((fnum(p.get("data-lo")), fnum(p.get("data-hi"))) == (fnum(r[lo]), fnum(r[hi])),
              "scale point %s %s interval" % (r["variant"], r["scale"]))


def task_metrics(run):
    """Per variant, seed and epoch (loss, test_acc) from metrics.jsonl."""
    per = {}
    for path in glob.glob(os.path.join(run, "tasks", "*", "metrics.jsonl")):
        if not os.path.exists(os.path.join(os.path.dirname(path), "DONE")):
            continue
        for line in open(path):
            r = json.loads(line)
            per.setdefault(r["variant"], {}).setdefault(r["seed"], {})[int(r["epoch"])] = (
                float(r["loss"]), float(r["test_acc"]))
    return per


def check_curves(fig, run, summary):
    if fig is None:
        return
    per = task_metrics(run)
    variants = {r["variant"] for r in summary}
    for q, idx in (("loss", 0), ("acc", 1)):
        lines = find(fig, "polyline", "line", q)
        want = {v for v in per if v in variants}
        check({l.get("data-variant") for l in lines} == want,
              "%s lines for %s, metrics for %s" % (q, sorted(l.get("data-variant") for l in lines), sorted(want)))
        for l in lines:
            seeds = per[l.get("data-variant")]
            last = max(max(e) for e in seeds.values())
            vals = [s[last][idx] for s in seeds.values() if last in s]
            check(int(l.get("data-epochs")) == last, "%s epochs %s, metrics %d" % (q, l.get("data-epochs"), last))
            check(abs(float(l.get("data-last")) - sum(vals) / len(vals)) < 5e-7,
                  "%s %s last epoch %s, metrics mean %r" % (q, l.get("data-variant"), l.get("data-last"), vals))
            check(len(l.get("points").split()) == last, "%s %s points" % (q, l.get("data-variant")))
        bands = find(fig, "polygon", "band")
        check(len(bands) == 2 * sum(1 for v in want if len(per[v]) > 1) or q == "acc", "bands")


def check_digits(fig, run, summary):
    if fig is None:
        return
    path = os.path.join(run, "inspect.json")
    imgs = find(fig, "image", "digit")
    if not os.path.exists(path):
        check(not imgs, "digits drawn without inspect.json")
        return
    ins = json.load(open(path))
    shown = min(12, len(ins["digits"]))
    check(len(imgs) == shown * ins["blocks"], "%d digit images, want %d" % (len(imgs), shown * ins["blocks"]))
    variants = []
    for r in summary:
        if r["variant"] not in variants:
            variants.append(r["variant"])
    groups = find(fig, "g", "digitrow")
    check(len(groups) == shown, "%d digit rows, want %d" % (len(groups), shown))
    by_index = {d["index"]: d for d in ins["digits"]}
    for g in groups:
        d = by_index[int(g.get("data-index"))]
        pix = [png_pixels(base64.b64decode(i.get("{http://www.w3.org/1999/xlink}href").split(",", 1)[1]))
               for i in find(g, "image", "digit")]
        check(pix == [bytes.fromhex(h) for h in d["images"]], "digit %d: PNG pixels differ" % d["index"])
        wrong = sum(1 for v in variants for p in d["pred"].get(v, []) if p[0] != d["label"])
        check(len(find(g, "text", "wrong")) == wrong, "digit %d: %d wrong marked, want %d"
              % (d["index"], len(find(g, "text", "wrong")), wrong))
    # the disagreements first
    def disagree(d):
        return sum(1 for b in range(ins["blocks"])
                   if len({d["pred"][v][b][0] for v in variants if v in d["pred"]}) > 1)
    order = [disagree(by_index[int(g.get("data-index"))]) for g in groups]
    check(order == sorted(order, reverse=True), "digits not ordered by disagreement: %s" % order)


if __name__ == "__main__":
    sys.exit(main())
