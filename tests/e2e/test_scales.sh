#!/usr/bin/env bash
# Robustness as a curve, end to end on a mini MNIST: a small study finished
# without --scales gets its curve from `dacc run --scales` afterwards without
# retraining (checkpoints and metrics lines unchanged to the byte); scale 0
# (the identity deformation) gives x^ equal to the clean accuracy; |delta|
# grows with the scale on average; a rerun interrupted while evaluating
# scales continues with only the missing ones; dacc report has the scale
# rows and the delta-scale figure, checked against summary.csv.
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup scales
tmp=$WORK
e2e_mnist 1280 500
# generated sets go to a cache of the test's own
export DACC_DATA="$tmp/cache"
args=(--variants 'Original;AveragePool' --epochs 2 --threads 1 --plain --data "$tmp/mnist" --blocks 3
      --model "$SRC/engine/align/alignclass-4x4.bin" --out "$tmp/run")
sums() { (cd "$tmp/run/tasks" && md5sum */checkpoint.dacc */metrics.jsonl */metrics.csv */results.json */predictions.bin); }

"$DACC" run "${args[@]}" >"$tmp/run1.log" 2>&1
check_sh "the study without --scales succeeds" '[ $? = 0 ] && [ -f "$tmp/run/tasks/01-AveragePool-s1/DONE" ]'
check_sh "no scales.json without --scales" '! ls "$tmp"/run/tasks/*/scales.json >/dev/null 2>&1'
sums >"$tmp/sums1"

"$DACC" run "${args[@]}" --scales 2,0,1,0.5 >"$tmp/run2.log" 2>&1
check_sh "adding --scales to the finished study succeeds" '[ $? = 0 ]'
check_sh "no task retrained (log)" 'grep -q "0 trained now, 2 already done" "$tmp/run2.log" && ! grep -q "epoch 1/2" "$tmp/run2.log"'
check_sh "checkpoints, metrics, results and predictions unchanged to the byte" 'sums | cmp -s - "$tmp/sums1"'
check_sh "every task evaluated on 4 scales" '[ $(grep -c "^\[.*\] scale [0-9.]* ([1-4]/4): held-out clean" "$tmp/run2.log") = 8 ]'
check_sh "the log says what is evaluated" 'grep -q "already done; evaluating 4 more deformation scale(s)" "$tmp/run2.log"'

# the numbers: scale 0 is the identity, |delta| grows with the scale
cat >"$tmp/curve.py" <<'PY'
import glob, json, sys
run = sys.argv[1]
ok = True
mean = {}
for path in glob.glob(run + "/tasks/*/scales.json"):
    d = json.load(open(path))
    scales = [e["scale"] for e in d["scales"]]
    if scales != sorted(scales) or len(scales) != int(sys.argv[2]):
        print("scales", scales, file=sys.stderr); ok = False
    for e in d["scales"]:
        for p in ("heldout", "paper"):
            q = e[p]
            if e["scale"] == 0 and not (all(y == q["clean"] for y in q["y"]) and q["delta"] == 0):
                print("scale 0 is not the identity:", path, p, q["clean"], q["y"], file=sys.stderr); ok = False
            h = q["hist"]
            if sum(h) != q["n"] or len(h) != 2 * (len(q["y"]) + 1):
                print("histogram", h, file=sys.stderr); ok = False
            mean.setdefault(e["scale"], []).append(abs(q["delta"]))
m = [sum(v) / len(v) for k, v in sorted(mean.items())]
if len(sys.argv) > 3 and not all(a < b for a, b in zip(m, m[1:])):
    print("mean |delta| per scale does not grow:", m, file=sys.stderr); ok = False
sys.exit(0 if ok else 1)
PY
check_sh "scale 0 gives x^ = clean; |delta| grows with the scale; histograms add up" 'python3 "$tmp/curve.py" "$tmp/run" 4 grow'

# the default scale's set is the study's own: its entry equals results.json
check_sh "scale 0.5 (the default) equals results.json" 'python3 - "$tmp/run" <<'"'"'PY'"'"'
import glob, json, sys
for d in glob.glob(sys.argv[1] + "/tasks/*/"):
    r = json.load(open(d + "results.json"))
    e = [e for e in json.load(open(d + "scales.json"))["scales"] if e["scale"] == 0.5][0]
    for p in ("heldout", "paper"):
        assert abs(e[p]["clean"] - r[p]["clean"]) < 1e-6 and abs(e[p]["delta"] - r[p]["delta"]) < 1e-5, (d, p)
PY'

# interrupted while evaluating new scales, then continued: only the missing ones
cp "$tmp"/run/tasks/00-Original-s1/scales.json "$tmp/before.json"
more=0,0.25,0.5,0.75,1,2
"$DACC" run "${args[@]}" --scales $more >"$tmp/run3.log" 2>&1 &
pid=$!
while kill -0 $pid 2>/dev/null && ! grep -q "scale 0.25 (1/2)" "$tmp/run3.log"; do sleep 0.02; done
kill -TERM $pid
wait $pid
code=$?
check_sh "SIGTERM while evaluating scales exits 3 (got $code)" '[ $code = 3 ]'
check_sh "progress.json says interrupted" 'grep -q "\"state\":\"interrupted\"" "$tmp/run/progress.json"'
"$DACC" run "${args[@]}" --scales $more >"$tmp/run4.log" 2>&1
check_sh "the rerun finishes" '[ $? = 0 ] && grep -q "0 trained now" "$tmp/run4.log"'
n4=$(grep -c "^\[.*\] scale " "$tmp/run4.log")
check_sh "the rerun evaluates only what is missing (4 new in all, $n4 now)" '[ "$n4" -ge 1 ] && [ "$n4" -lt 4 ]'
check_sh "6 scales per task, in order" 'python3 "$tmp/curve.py" "$tmp/run" 6'
check_sh "earlier entries kept unchanged" 'python3 - "$tmp/before.json" "$tmp/run/tasks/00-Original-s1/scales.json" <<'"'"'PY'"'"'
import json, sys
a = {e["scale"]: e for e in json.load(open(sys.argv[1]))["scales"]}
b = {e["scale"]: e for e in json.load(open(sys.argv[2]))["scales"]}
assert all(b[s] == a[s] for s in a), "changed"
PY'
check_sh "still nothing retrained" 'sums | cmp -s - "$tmp/sums1"'

# progress.json while a scale is evaluated (a live look, state evaluating)
"$DACC" run "${args[@]}" --scales 1.5 >"$tmp/run5.log" 2>&1 &
pid=$!
seen=0
while kill -0 $pid 2>/dev/null; do
    grep -q '"state":"evaluating".*"scale":1.5,"scale_index":0,"scales":1' "$tmp/run/progress.json" 2>/dev/null &&
        { seen=1; break; }
    sleep 0.01
done
wait $pid
check_sh "progress.json names the scale being evaluated" '[ $seen = 1 ]'

# dacc report: scale rows, tables and the figure, consistent with summary.csv
"$DACC" report --quiet "$tmp/run" >/dev/null 2>"$tmp/report.err"
check_sh "dacc report succeeds" '[ $? = 0 ]'
rows=$(grep -cE '^(heldout|paper),(Original|AveragePool),1,1,[0-9]+,3,.*,[0-9.]+,-?[0-9.]+,-?[0-9.]+$' "$tmp/run/summary.csv")
check_sh "summary.csv: a row per protocol, variant and scale (28, got $rows)" '[ "$rows" = 28 ]'
check_sh "summary.md: the scale table" 'grep -q "^| variant | scale 0 | scale 0.25 |" "$tmp/run/summary.md"'
check_sh "summary.json: scales per variant" 'grep -q "\"scales\":\[{\"scale\":0,\"n\":1," "$tmp/run/summary.json"'
check_sh "figures/delta-scale.svg drawn" '[ -s "$tmp/run/figures/delta-scale.svg" ]'
python3 "$SRC/tests/e2e/check_figures.py" "$tmp/run" "$tmp/run" >"$tmp/cf.out" 2>&1
check_sh "check_figures.py: figures and tables equal summary.csv ($(tail -1 "$tmp/cf.out"))" '[ $? = 0 ]'

"$DACC" run "${args[@]}" --scales 1,1 >"$tmp/bad.log" 2>&1
check_sh "a repeated scale is a usage error" '[ $? = 2 ] && grep -q "given twice" "$tmp/bad.log"'
"$DACC" run "${args[@]}" --scales 1 --no-align >"$tmp/bad.log" 2>&1
check_sh "--scales with --no-align is a usage error" '[ $? = 2 ]'

finish
