#!/usr/bin/env bash
# A study killed with SIGKILL at several moments and resumed ends with
# exactly the results of an uninterrupted one (same seed, same threads);
# SIGTERM stops with exit code 3 and the state saved; finished tasks are
# skipped on a rerun.
set -u
DACC=${DACC_BIN:?DACC_BIN must point at the dacc binary}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0
check() { if eval "$2"; then pass=$((pass + 1)); else fail=$((fail + 1)); echo "FAIL: $1" >&2; fi; }

# a small MNIST (first 1000 test images) keeps evaluation short
. "${DACC_SOURCE_DIR:-$(dirname "$0")/../..}/tests/lib/mini_mnist.sh"
mini_mnist "$tmp/mnist" 1280 1000 || { echo "no MNIST"; echo "0 passed, 1 failed"; exit 1; }
args=(--variants 'Original;AveragePool' --epochs 3 --no-align --threads 1 --plain --data "$tmp/mnist")
# what may differ between runs: wall-clock seconds and the per-layer timers
strip() { sed -E 's/"seconds":[0-9.e+-]+//; s/,"layer_ms":.*$//; s/,[0-9.]+$//' "$1"; }
same_results() { # dirA dirB
    local a=$1 b=$2 t ok=0
    for t in "$a"/tasks/*/; do
        t=$(basename "$t")
        cmp -s "$a/tasks/$t/results.json" "$b/tasks/$t/results.json" || { echo "results differ: $t" >&2; ok=1; }
        cmp -s "$a/tasks/$t/predictions.bin" "$b/tasks/$t/predictions.bin" || { echo "predictions differ: $t" >&2; ok=1; }
        diff -q <(strip "$a/tasks/$t/metrics.jsonl") <(strip "$b/tasks/$t/metrics.jsonl") >/dev/null ||
            { echo "metrics differ: $t" >&2; ok=1; }
        [ -f "$b/tasks/$t/DONE" ] || { echo "not done: $t" >&2; ok=1; }
    done
    return $ok
}

"$DACC" run "${args[@]}" --out "$tmp/ref" >"$tmp/ref.log" 2>&1
check "uninterrupted run succeeds" '[ $? = 0 ] && [ -f "$tmp/ref/tasks/01-AveragePool-s1/DONE" ]'
# every epoch line has the per-layer timers of its 20 steps (1280 images / 64)
check "metrics lines carry layer_ms" '[ $(grep -c "\"layer_ms\":{\"steps\":20,\"train\":[0-9.]*,\"layers\":\[{\"name\":\"conv32_1\",\"fwd\":" "$tmp/ref/tasks/00-Original-s1/metrics.jsonl") = 3 ]'

# kill at moments defined by the run's own progress (not by the clock, which
# a loaded machine stretches): mid-way through the first epoch, just after the
# first task's first checkpoint, and inside the second task
wait_for() { # file [min lines]: poll until it exists (with that many lines)
    local i
    for i in $(seq 1 600); do
        if [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "${2:-0}" ]; then return 0; fi
        sleep 0.05
    done
    return 1
}
for point in batch epoch task2; do
    d="$tmp/kill-$point"
    "$DACC" run "${args[@]}" --out "$d" >"$d.log" 2>&1 &
    pid=$!
    case $point in
        batch) wait_for "$d/progress.json" && sleep 0.3 ;;
        epoch) wait_for "$d/tasks/00-Original-s1/metrics.jsonl" 1 ;;
        task2) wait_for "$d/tasks/01-AveragePool-s1/metrics.jsonl" 1 ;;
    esac
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    check "SIGKILL at point $point came before the end" '[ ! -f "$d/tasks/01-AveragePool-s1/DONE" ]'
    "$DACC" run "${args[@]}" --out "$d" >>"$d.log" 2>&1
    check "resumed after SIGKILL at point $point exits 0" '[ $? = 0 ]'
    check "resumed after SIGKILL at point $point matches bit for bit" 'same_results "$tmp/ref" "$d"'
done

d="$tmp/term"
"$DACC" run "${args[@]}" --out "$d" >"$d.log" 2>&1 &
pid=$!
wait_for "$d/tasks/00-Original-s1/metrics.jsonl" 1
kill -TERM "$pid"
wait "$pid"
code=$?
check "SIGTERM exits with code 3 (got $code)" '[ $code = 3 ]'
check "SIGTERM leaves progress.json interrupted" 'grep -q "\"state\":\"interrupted\"" "$d/progress.json"'
check "progress.json names the task it was interrupted in" 'grep -q "\"task\":\"00-Original-s1\"" "$d/progress.json"'
"$DACC" run "${args[@]}" --out "$d" >>"$d.log" 2>&1
check "resumed after SIGTERM matches" 'same_results "$tmp/ref" "$d"'

"$DACC" run "${args[@]}" --out "$tmp/ref" >"$tmp/again.log" 2>&1
check "a rerun of a finished study skips every task" '[ $(grep -c "^\[.*\] already done$" "$tmp/again.log") = 2 ] && grep -q "0 trained now, 2 already done" "$tmp/again.log"'

echo "$pass passed, $fail failed"
[ "$fail" = 0 ]
