#!/usr/bin/env bash
# augment=align end to end on a mini MNIST with the shipped class model
# (--model: the shipped model was fitted on the full MNIST, so on the mini
# set the lookup would fit a model of its own):
# - dacc train trains an augmented variant and names the model and scale;
#   stopped with SIGTERM after its first checkpoint and resumed, it ends with
#   the same checkpoint bytes as an uninterrupted run; a resume with another
#   --scale is refused; a bad switch value is a usage error;
# - dacc run with an augmented variant next to Original, under --no-align
#   (augmentation needs only the class model): study.json and config.json
#   record the switch, the scale and the model; the two variants differ;
#   killed (SIGKILL) inside the augmented task and rerun, it matches the
#   uninterrupted run bit for bit.
set -u
. "$(dirname "$0")/../lib/check.sh"
e2e_setup augment-cli
tmp=$WORK
e2e_mnist 1280 500
model="$SRC/engine/align/alignclass-4x4.bin"
spec='name=AlignAug,base=Original,augment=align'
wait_for() { # file [min lines]
    local i
    for i in $(seq 1 1200); do
        if [ -f "$1" ] && [ "$(wc -l <"$1")" -ge "${2:-0}" ]; then return 0; fi
        sleep 0.05
    done
    return 1
}

# ---- dacc train ----
T=(train --variant "$spec" --epochs 3 --threads 2 --data "$tmp/mnist" --model "$model")
"$DACC" "${T[@]}" --out "$tmp/a.dacc" >"$tmp/a.log" 2>&1
check_sh "dacc train with augment=align succeeds" '[ $? = 0 ] && [ -f "$tmp/a.dacc" ]'
check_sh "dacc train names the class model and the scale" 'grep -q "^augment=align: class model .*alignclass-4x4.bin ([0-9a-f]\{16\}), scale 0.5$" "$tmp/a.log"'
check_sh "dacc train prints the switch" 'grep -q "(bn=on,dropout=all,pool=max,lr_decay=on,augment=align)" "$tmp/a.log"'
"$DACC" train --variant 'name=Plain,base=Original' --epochs 3 --threads 2 --data "$tmp/mnist" --out "$tmp/p.dacc" >"$tmp/p.log" 2>&1
check_sh "augmentation changes training (loss of epoch 1)" '[ "$(grep "^epoch  1" "$tmp/a.log" | awk "{print \$6}")" != "$(grep "^epoch  1" "$tmp/p.log" | awk "{print \$6}")" ]'

"$DACC" "${T[@]}" --out "$tmp/b.dacc" >"$tmp/b.log" 2>&1 &
pid=$!
wait_for "$tmp/b.dacc"
kill -TERM "$pid" 2>/dev/null
wait "$pid"
code=$?
check_sh "SIGTERM after the first checkpoint: exit 3 or already done (got $code)" '[ $code = 3 ] || [ $code = 0 ]'
"$DACC" train --resume "$tmp/b.dacc" --threads 2 --data "$tmp/mnist" --scale 0.7 --model "$model" >"$tmp/bad.log" 2>&1
check_sh "a resume with another --scale is refused" '[ $? = 1 ] && grep -q "trained with augment scale 0.5" "$tmp/bad.log"'
"$DACC" train --resume "$tmp/b.dacc" --threads 2 --data "$tmp/mnist" --model "$model" >>"$tmp/b.log" 2>&1
check_sh "resume succeeds" '[ $? = 0 ]'
check_sh "stopped and resumed = uninterrupted (checkpoint bytes)" 'cmp -s "$tmp/a.dacc" "$tmp/b.dacc"'
"$DACC" train --variant 'name=X,augment=maybe' --data "$tmp/mnist" >"$tmp/u.log" 2>&1
check_sh "a bad augment value is a usage error" '[ $? = 2 ] && grep -q "bad value .maybe. for augment" "$tmp/u.log"'

# ---- dacc run ----
R=(run --variants "Original;$spec" --epochs 2 --no-align --model "$model" --threads 2 --plain --data "$tmp/mnist")
"$DACC" "${R[@]}" --out "$tmp/ref" >"$tmp/ref.log" 2>&1
check_sh "dacc run with an augmented variant under --no-align succeeds" '[ $? = 0 ] && [ -f "$tmp/ref/tasks/01-AlignAug-s1/DONE" ]'
check_sh "study.json records the switches" 'grep -q "\"switches\":\[\"bn=on,dropout=all,pool=max,lr_decay=on\",\"bn=on,dropout=all,pool=max,lr_decay=on,augment=align\"\]" "$tmp/ref/study.json"'
c="$tmp/ref/tasks/01-AlignAug-s1/config.json"
check_sh "config.json records switch, scale and model" 'grep -q "augment=align" "$c" && grep -q "\"augment\":\"align\",\"augment_scale\":0.5,\"augment_model_hash\":\"[0-9a-f]\{16\}\",\"augment_model\":\"[^\"]*alignclass-4x4.bin\"" "$c"'
check_sh "Original's config.json has no augmentation key" '! grep -q "\"augment" "$tmp/ref/tasks/00-Original-s1/config.json"'
check_sh "the augmented variant's results differ from Original's" '! cmp -s "$tmp/ref/tasks/00-Original-s1/predictions.bin" "$tmp/ref/tasks/01-AlignAug-s1/predictions.bin"'

strip() { sed -E 's/"seconds":[0-9.e+-]+//; s/,"layer_ms":.*$//; s/,[0-9.]+$//' "$1"; }
d="$tmp/kill"
"$DACC" "${R[@]}" --out "$d" >"$d.log" 2>&1 &
pid=$!
wait_for "$d/tasks/01-AlignAug-s1/metrics.jsonl" 1
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
check_sh "SIGKILL came before the end" '[ ! -f "$d/tasks/01-AlignAug-s1/DONE" ]'
"$DACC" "${R[@]}" --out "$d" >>"$d.log" 2>&1
check_sh "rerun after SIGKILL exits 0" '[ $? = 0 ]'
for f in results.json predictions.bin predictions-paper.bin; do
    check_sh "after SIGKILL and rerun: $f bit-identical" 'cmp -s "$tmp/ref/tasks/01-AlignAug-s1/$f" "$d/tasks/01-AlignAug-s1/$f"'
done
check_sh "after SIGKILL and rerun: metrics identical" 'diff -q <(strip "$tmp/ref/tasks/01-AlignAug-s1/metrics.jsonl") <(strip "$d/tasks/01-AlignAug-s1/metrics.jsonl") >/dev/null'
check_sh "the rerun resumed the augmented task or retrained it" 'grep -q "01-AlignAug-s1" "$d.log"'

finish
