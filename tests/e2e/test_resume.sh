#!/usr/bin/env bash
# A study killed with SIGKILL at several moments and resumed ends with
# exactly the results of an uninterrupted one (same seed, same threads);
# SIGTERM stops with exit code 3 and the state saved; finished tasks are
# skipped on a rerun.
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup resume
# a small MNIST (first 1000 test images) keeps evaluation short
e2e_mnist 1280 1000
args=(--variants 'Original;AveragePool' --epochs 3 --no-align --threads 1 --plain --data "$WORK/mnist")
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

"$DACC" run "${args[@]}" --out "$WORK/ref" >"$WORK/ref.log" 2>&1
check_sh "uninterrupted run succeeds" '[ $? = 0 ] && [ -f "$WORK/ref/tasks/01-AveragePool-s1/DONE" ]'
# every epoch line has the per-layer timers of its 20 steps (1280 images / 64)
check_sh "metrics lines carry layer_ms" '[ $(grep -c "\"layer_ms\":{\"steps\":20,\"train\":[0-9.]*,\"layers\":\[{\"name\":\"conv32_1\",\"fwd\":" "$WORK/ref/tasks/00-Original-s1/metrics.jsonl") = 3 ]'

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
    d="$WORK/kill-$point"
    "$DACC" run "${args[@]}" --out "$d" >"$d.log" 2>&1 &
    pid=$!
    case $point in
        batch) wait_for "$d/progress.json" && sleep 0.3 ;;
        epoch) wait_for "$d/tasks/00-Original-s1/metrics.jsonl" 1 ;;
        task2) wait_for "$d/tasks/01-AveragePool-s1/metrics.jsonl" 1 ;;
    esac
    kill -KILL "$pid" 2>/dev/null
    wait "$pid" 2>/dev/null
    check_sh "SIGKILL at point $point came before the end" '[ ! -f "$d/tasks/01-AveragePool-s1/DONE" ]'
    "$DACC" run "${args[@]}" --out "$d" >>"$d.log" 2>&1
    check_sh "resumed after SIGKILL at point $point exits 0" '[ $? = 0 ]'
    check_sh "resumed after SIGKILL at point $point matches bit for bit" 'same_results "$WORK/ref" "$d"'
done

d="$WORK/term"
"$DACC" run "${args[@]}" --out "$d" >"$d.log" 2>&1 &
pid=$!
wait_for "$d/tasks/00-Original-s1/metrics.jsonl" 1
kill -TERM "$pid"
wait "$pid"
code=$?
check_sh "SIGTERM exits with code 3 (got $code)" '[ $code = 3 ]'
check_sh "SIGTERM leaves progress.json interrupted" 'grep -q "\"state\":\"interrupted\"" "$d/progress.json"'
check_sh "progress.json names the task it was interrupted in" 'grep -q "\"task\":\"00-Original-s1\"" "$d/progress.json"'
"$DACC" run "${args[@]}" --out "$d" >>"$d.log" 2>&1
check_sh "resumed after SIGTERM matches" 'same_results "$WORK/ref" "$d"'

"$DACC" run "${args[@]}" --out "$WORK/ref" >"$WORK/again.log" 2>&1
check_sh "a rerun of a finished study skips every task" '[ $(grep -c "^\[.*\] already done$" "$WORK/again.log") = 2 ] && grep -q "0 trained now, 2 already done" "$WORK/again.log"'

finish
