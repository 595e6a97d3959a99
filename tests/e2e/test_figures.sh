#!/usr/bin/env bash
# dacc report's figures and report.html, end to end on the committed fixture
# run (tests/fixtures/run-sample) and on variations of it: two seeds (intervals
# over seeds, bands), one variant with missing tasks, metrics and digits (notes,
# never a broken file). Each SVG must parse as XML (check_figures.py) and render
# with rsvg-convert to a non-empty PNG; counts and numbers must equal the CSV
# files; report.html in headless chromium: no console message, every figure,
# the tables' numbers. The checkers are shown to fail on a tampered figure and
# a page that logs an error. rsvg-convert and chromium (scripts/bootstrap
# --test) are skipped with a note when absent.
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u

. "$(dirname "$0")/../lib/check.sh"
e2e_setup figures
CHECK="$SRC/tests/e2e/check_figures.py"
if ! command -v python3 >/dev/null; then
    echo "FAIL: needs python3" >&2
    echo "0 passed, 1 failed"
    exit 1
fi

# the checker's "N passed, N failed" folded into ours
run_checker() { # name args...
    local name=$1 out
    shift
    out=$(python3 "$CHECK" "$@" 2>"$WORK/$name.err")
    local rc=$?
    local p f
    p=$(echo "$out" | sed -n 's/^\([0-9]*\) passed.*/\1/p')
    f=$(echo "$out" | sed -n 's/.* \([0-9]*\) failed.*/\1/p')
    pass=$((pass + ${p:-0}))
    if [ "$rc" -ne 0 ] || [ -z "$p" ]; then
        fail=$((fail + ${f:-1}))
        echo "FAIL: $name:" >&2
        cat "$WORK/$name.err" >&2
    fi
}

render_all() { # dir: every SVG to a PNG with a real renderer
    if ! command -v rsvg-convert >/dev/null; then skip "rsvg-convert not installed (librsvg2-bin)"; return; fi
    for svg in "$1"/figures/*.svg; do
        local png="$WORK/$(basename "$1")-$(basename "$svg" .svg).png"
        if rsvg-convert -o "$png" "$svg" 2>"$WORK/rsvg.err" && [ "$(head -c 8 "$png" | od -An -tx1 | tr -d ' ')" = \
            89504e470d0a1a0a ] && [ "$(stat -c %s "$png")" -gt 2000 ]; then ok
        else bad "rsvg-convert $svg: $(cat "$WORK/rsvg.err")"; fi
    done
}

have_chromium=0
command -v chromium >/dev/null && have_chromium=1
browse() { # html dom-out: the DOM chromium built; fails on any console message
    timeout 120 chromium --headless --no-sandbox --disable-gpu --enable-logging=stderr --v=0 \
        --dump-dom "file://$1" >"$2" 2>"$2.log" || return 1
    ! grep -q ":CONSOLE" "$2.log"
}

study() { # name: report on $WORK/name, render, check (extra checker args after name)
    local name=$1
    shift
    if ! "$BIN" report --quiet "$WORK/$name" >/dev/null 2>"$WORK/$name.report.err"; then
        bad "dacc report $name: $(tail -1 "$WORK/$name.report.err")"
        return
    fi
    render_all "$WORK/$name"
    local dom=()
    if [ "$have_chromium" = 1 ]; then
        if browse "$WORK/$name/report.html" "$WORK/$name.dom"; then ok; dom=(--dom "$WORK/$name.dom")
        else bad "chromium on $name/report.html: $(grep CONSOLE "$WORK/$name.dom.log" | head -3)"; fi
        timeout 120 chromium --headless --no-sandbox --disable-gpu --window-size=1200,2400 \
            --screenshot="$WORK/$name.shot.png" "file://$WORK/$name/report.html" >/dev/null 2>&1
        check "$name screenshot" test -s "$WORK/$name.shot.png"
    fi
    run_checker "$name" "$WORK/$name" "$WORK/$name" "${dom[@]}" "$@"
}

# 1. the fixture as committed: six variants, one seed, digits, curves
cp -r "$SRC/tests/fixtures/run-sample" "$WORK/sample"
study sample

# 2. two seeds: intervals over seeds and bands in the curves
cp -r "$SRC/tests/fixtures/run-sample" "$WORK/seeds"
python3 - "$WORK/seeds" <<'PY'
import json, os, shutil, sys
run = sys.argv[1]
tasks = sorted(os.listdir(os.path.join(run, "tasks")))
for i, t in enumerate(tasks):
    src, dst = os.path.join(run, "tasks", t), os.path.join(run, "tasks", "%02d-%s-s2" % (6 + i, t[3:-3]))
    shutil.copytree(src, dst)
    r = json.load(open(os.path.join(dst, "results.json")))
    r["seed"] = 2
    for p in ("paper", "heldout"):
        r[p]["clean"] = round(r[p]["clean"] - 0.001 * (i + 1), 4)
        r[p]["y"] = [round(y - 0.002 * (i + 1), 4) for y in r[p]["y"]]
        r[p]["xhat"] = round(sum(r[p]["y"]) / len(r[p]["y"]), 6)
        r[p]["delta"] = round(r[p]["xhat"] - r[p]["clean"], 6)
    json.dump(r, open(os.path.join(dst, "results.json"), "w"))
    out = []
    for l in open(os.path.join(dst, "metrics.jsonl")):
        m = json.loads(l)
        m["seed"], m["loss"], m["test_acc"] = 2, round(m["loss"] * 1.2, 4), round(m["test_acc"] - 0.003, 4)
        out.append(json.dumps(m))
    open(os.path.join(dst, "metrics.jsonl"), "w").write("\n".join(out) + "\n")
    os.remove(os.path.join(dst, "metrics.csv"))
s = json.load(open(os.path.join(run, "study.json")))
s["seeds"] = [1, 2]
json.dump(s, open(os.path.join(run, "study.json"), "w"))
PY
study seeds
check "two seeds: bands drawn" grep -q 'class="band"' "$WORK/seeds/figures/training-curves.svg"

# 3. one variant, the other tasks missing, no metrics, no digits
cp -r "$SRC/tests/fixtures/run-sample" "$WORK/single"
rm -rf "$WORK/single"/tasks/0[1-5]-* "$WORK/single/inspect.json" "$WORK/single/tasks/00-Original-s1/metrics.jsonl"
study single --expect-note "5 task folder(s) skipped or missing" --expect-note "one variant only" \
    --expect-note "no digits" --expect-note "no training curve"
check "single: no curve drawn" bash -c "! grep -q 'class=\"line' '$WORK/single/figures/training-curves.svg'"

# 4. clean accuracy only (no AlignMNIST): no x̂ or Δ bars, a note instead
cp -r "$SRC/tests/fixtures/run-sample" "$WORK/clean"
python3 - "$WORK/clean" <<'PY'
import glob, json, os, sys
for path in glob.glob(os.path.join(sys.argv[1], "tasks", "*", "results.json")):
    r = json.load(open(path))
    for p in ("paper", "heldout"):
        for k in ("y", "xhat", "delta"):
            r[p].pop(k, None)
    json.dump(r, open(path, "w"))
PY
study clean
check "clean only: Δ panels say why they are empty" grep -q 'class="note">no x̂' "$WORK/clean/figures/fig4-delta.svg"

# 5. robustness as a curve: scales.json in every task (as dacc run --scales
# writes it; one seed: the per-image intervals from its histogram)
cp -r "$SRC/tests/fixtures/run-sample" "$WORK/scales"
python3 "$SRC/tests/lib/fake_scales.py" "$WORK/scales"
study scales
check "scales: one line per variant" test "$(grep -c 'class="line scale"' "$WORK/scales/figures/delta-scale.svg")" = 6
check "scales: four points per variant" test "$(grep -c 'class="point scale"' "$WORK/scales/figures/delta-scale.svg")" = 24
check "scales: summary.md has the table" grep -q '^| Original | 0.00 \[0.00, 0.00\]† |' "$WORK/scales/summary.md"
check "scales: summary.json has them" grep -q '"scales":\[{"scale":0,"n":1,' "$WORK/scales/summary.json"
check "no scales: no delta-scale figure" test ! -e "$WORK/sample/figures/delta-scale.svg"

# 6. the checkers can fail: a figure value off by one digit, a page that logs
sed 's/data-value="\([0-9]\)/data-value="9\1/' "$WORK/sample/figures/fig3-accuracy.svg" >"$WORK/t.svg"
mv "$WORK/t.svg" "$WORK/sample/figures/fig3-accuracy.svg"
check "checker rejects a tampered figure" bash -c "! python3 '$CHECK' '$WORK/sample' '$WORK/sample' 2>/dev/null >&2"
sed 's/class="point scale" \(data-variant="[^"]*" data-scale="1"\) data-value="-/\1 class="point scale" data-value="-9/' \
    "$WORK/scales/figures/delta-scale.svg" >"$WORK/t.svg"
mv "$WORK/t.svg" "$WORK/scales/figures/delta-scale.svg"
check "checker rejects a tampered scale point" bash -c "! python3 '$CHECK' '$WORK/scales' '$WORK/scales' 2>/dev/null >&2"
echo 'not <svg' >"$WORK/sample/figures/fig4-delta.svg"
check "checker rejects a broken SVG" bash -c "! python3 '$CHECK' '$WORK/sample' '$WORK/sample' 2>/dev/null >&2"
if [ "$have_chromium" = 1 ]; then
    echo '<!DOCTYPE html><html><body><script>console.error("x")</script></body></html>' >"$WORK/bad.html"
    if browse "$WORK/bad.html" "$WORK/bad.dom"; then bad "a console.error was not caught"; else ok; fi
else
    skip "chromium not installed: report.html not opened in a browser"
fi

finish
