#!/usr/bin/env bash
# AlignMNIST end to end with the real dacc on a mini MNIST: dacc align makes
# both sets with the shipped class model (deterministic: a second run gives
# the same bytes), dacc show prints a digit and its transformations, and a
# small dacc run reports clean, y_n, x^ and delta for both protocols, with
# the inspector digits and every variant's predictions.
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup align-cli
e2e_mnist 1500 500
model="$SRC/engine/align/alignclass-4x4.bin"

"$DACC" align --model "$model" --data "$WORK/mnist" --blocks 3 --out "$WORK/a1" --quiet >"$WORK/a1.log" 2>&1
check_sh "dacc align succeeds" '[ $? = 0 ]'
train=$(sed -n 's/^train //p' "$WORK/a1.log"); test=$(sed -n 's/^test  *//p' "$WORK/a1.log")
check_sh "both sets written" '[ -f "$train" ] && [ -f "$test" ]'
"$DACC" align --model "$model" --data "$WORK/mnist" --blocks 3 --out "$WORK/a2" --quiet >"$WORK/a2.log" 2>&1
check_sh "same seed, same bytes" 'cmp -s "$test" "$WORK/a2/$(basename "$test")"'

check_sh "dacc align prints both sets' displacement statistics" '[ $(grep -c "displacement of ink pixels" "$WORK/a1.log") = 2 ] && grep -qE "^ +all +[0-9]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+" "$WORK/a1.log"'
"$DACC" align --measure "$test" --limit 20 --threads 2 --data "$WORK/mnist" --quiet >"$WORK/m.log" 2>&1
check_sh "dacc align --measure estimates the test set's statistics" '[ $? = 0 ] && grep -q "N = 20" "$WORK/m.log" && grep -qE "^ +all +[0-9]+ +[0-9.]+" "$WORK/m.log"'
"$DACC" align --measure "$WORK/nothing.npz" --data "$WORK/mnist" --quiet >"$WORK/m.err" 2>&1
check_sh "dacc align --measure on a missing file names it" '[ $? != 0 ] && grep -q "nothing.npz" "$WORK/m.err"'

out=$("$DACC" show --file "$test" --split test --index 4 --data "$WORK/mnist" 2>&1)
check_sh "dacc show prints the recorded displacement statistics" 'echo "$out" | grep -q "displacement of ink pixels"'
check_sh "dacc show draws 4 panels" 'echo "$out" | grep -q "original.*block 1.*block 2.*block 3"'
check_sh "dacc show draws ink" '[ $(echo "$out" | grep -c "@") -ge 5 ]'
"$DACC" show --file "$WORK/nothing.npz" --data "$WORK/mnist" >"$WORK/show.err" 2>&1
check_sh "dacc show on a missing file names it" '[ $? != 0 ] && grep -q "nothing.npz" "$WORK/show.err"'

"$DACC" run --variants 'Original;AveragePool' --epochs 2 --threads 2 --plain --data "$WORK/mnist" \
    --alignmnist "$train" --alignmnist-test "$test" --blocks 3 --out "$WORK/run" >"$WORK/run.log" 2>&1
check_sh "dacc run with AlignMNIST succeeds" '[ $? = 0 ]'
for t in 00-Original-s1 01-AveragePool-s1; do
    r="$WORK/run/tasks/$t/results.json"
    check_sh "$t: held-out y has 3 blocks" 'grep -qE "\"heldout\":\{\"clean\":[0-9.e-]+,\"y\":\[[0-9.e-]+,[0-9.e-]+,[0-9.e-]+\],\"xhat\"" "$r"'
    check_sh "$t: paper protocol has delta" 'grep -qE "\"paper\":\{[^}]*\"delta\":-?[0-9.e-]+" "$r"'
    check_sh "$t: predictions of 4 blocks of 500" '[ $(stat -c %s "$WORK/run/tasks/$t/predictions.bin") = $((20 + 4 * 500 * 2 + 4)) ]'
done
check_sh "inspect.json holds both variants' predictions" 'grep -q "\"Original\":\[\[" "$WORK/run/inspect.json" && grep -q "\"AveragePool\":\[\[" "$WORK/run/inspect.json"'
check_sh "the summary prints x^ and delta" 'grep -A3 "Held-out protocol" "$WORK/run.log" | grep -qE "Original +1 +[0-9.]+ +[0-9.]+ +[0-9.]+ +[0-9.]+ +- +- +[0-9.]+ +-?[0-9.]+"'

finish
