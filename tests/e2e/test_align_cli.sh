#!/usr/bin/env bash
# AlignMNIST end to end with the real dacc on a mini MNIST: dacc align makes
# both sets with the shipped class model (deterministic: a second run gives
# the same bytes), dacc show prints a digit and its transformations, and a
# small dacc run reports clean, y_n, x^ and delta for both protocols, with
# the inspector digits and every variant's predictions.
set -u
DACC=${DACC_BIN:?DACC_BIN must point at the dacc binary}
SRC=${DACC_SOURCE_DIR:-$(cd "$(dirname "$0")/../.." && pwd)}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }
. "$SRC/tests/lib/mini_mnist.sh"
mini_mnist "$tmp/mnist" 1500 500 || { echo "no MNIST"; echo "0 passed, 1 failed"; exit 1; }
model="$SRC/engine/align/alignclass-4x4.bin"

"$DACC" align --model "$model" --data "$tmp/mnist" --blocks 3 --out "$tmp/a1" --quiet >"$tmp/a1.log" 2>&1
check "dacc align succeeds" '[ $? = 0 ]'
train=$(sed -n 's/^train //p' "$tmp/a1.log"); test=$(sed -n 's/^test  *//p' "$tmp/a1.log")
check "both sets written" '[ -f "$train" ] && [ -f "$test" ]'
"$DACC" align --model "$model" --data "$tmp/mnist" --blocks 3 --out "$tmp/a2" --quiet >"$tmp/a2.log" 2>&1
check "same seed, same bytes" 'cmp -s "$test" "$tmp/a2/$(basename "$test")"'

check "dacc align prints both sets' displacement statistics" '[ $(grep -c "displacement of ink pixels" "$tmp/a1.log") = 2 ] && grep -qE "^ +all +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+" "$tmp/a1.log"'
"$DACC" align --measure "$test" --limit 20 --threads 2 --data "$tmp/mnist" --quiet >"$tmp/m.log" 2>&1
check "dacc align --measure estimates the test set's statistics" '[ $? = 0 ] && grep -q "N = 20" "$tmp/m.log" && grep -qE "^ +all +[0-9]+ +[0-9.]+" "$tmp/m.log"'
"$DACC" align --measure "$tmp/nothing.npz" --data "$tmp/mnist" --quiet >"$tmp/m.err" 2>&1
check "dacc align --measure on a missing file names it" '[ $? != 0 ] && grep -q "nothing.npz" "$tmp/m.err"'

out=$("$DACC" show --file "$test" --split test --index 4 --data "$tmp/mnist" 2>&1)
check "dacc show prints the recorded displacement statistics" 'echo "$out" | grep -q "displacement of ink pixels"'
check "dacc show draws 4 panels" 'echo "$out" | grep -q "original.*block 1.*block 2.*block 3"'
check "dacc show draws ink" '[ $(echo "$out" | grep -c "@") -ge 5 ]'
"$DACC" show --file "$tmp/nothing.npz" --data "$tmp/mnist" >"$tmp/show.err" 2>&1
check "dacc show on a missing file names it" '[ $? != 0 ] && grep -q "nothing.npz" "$tmp/show.err"'

"$DACC" run --variants 'Original;AveragePool' --epochs 2 --threads 2 --plain --data "$tmp/mnist" \
    --alignmnist "$train" --alignmnist-test "$test" --blocks 3 --out "$tmp/run" >"$tmp/run.log" 2>&1
check "dacc run with AlignMNIST succeeds" '[ $? = 0 ]'
for t in 00-Original-s1 01-AveragePool-s1; do
    r="$tmp/run/tasks/$t/results.json"
    check "$t: held-out y has 3 blocks" 'grep -qE "\"heldout\":\{\"clean\":[0-9.e-]+,\"y\":\[[0-9.e-]+,[0-9.e-]+,[0-9.e-]+\],\"xhat\"" "$r"'
    check "$t: paper protocol has delta" 'grep -qE "\"paper\":\{[^}]*\"delta\":-?[0-9.e-]+" "$r"'
    check "$t: predictions of 4 blocks of 500" '[ $(stat -c %s "$tmp/run/tasks/$t/predictions.bin") = $((20 + 4 * 500 * 2 + 4)) ]'
done
check "inspect.json holds both variants' predictions" 'grep -q "\"Original\":\[\[" "$tmp/run/inspect.json" && grep -q "\"AveragePool\":\[\[" "$tmp/run/inspect.json"'
check "the summary prints x^ and delta" 'grep -A3 "Held-out protocol" "$tmp/run.log" | grep -qE "Original +1 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +- +- +[0-9.]+ +-?[0-9.]+"'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
