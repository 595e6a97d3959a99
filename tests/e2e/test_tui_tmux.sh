#!/usr/bin/env bash
# End-to-end test of the real `dacc watch` in tmux: drives it with keys and
# asserts on the screen text at 80x24 and 200x60, after a resize, in the help
# overlay and the inspector, below 80x24, with NO_COLOR, in ASCII mode, live
# updates of the run directory, low idle CPU, and plain mode through a pipe.
# Works on a copy of tests/fixtures/run-sample (a fixture, not a real run).
# Env: DACC_BIN (the dacc executable), DACC_SOURCE_DIR (the source tree).
set -u

. "$(dirname "$0")/../lib/check.sh"

if ! command -v tmux >/dev/null 2>&1; then
    echo "tmux not found: skipping" >&2
    echo "0 passed, 0 failed, 1 skipped"
    exit 0
fi
e2e_setup tui-tmux
SOCK="dacc-tui-test-$$-$RANDOM"
T() { tmux -u -L "$SOCK" "$@"; }
e2e_cleanup() { tmux -L "$SOCK" kill-server >/dev/null 2>&1; }

RUN="$WORK/run"
cp -r "$SRC/tests/fixtures/run-sample" "$RUN"
python3 "$SRC/tests/lib/fake_scales.py" "$RUN" # scales.json as dacc run --scales writes it
unset TMUX # our own server on a private socket, also when run inside tmux
UTFLOC=C.UTF-8
for l in C.UTF-8 C.utf8 en_US.UTF-8 en_US.utf8; do
    if locale -a 2>/dev/null | grep -qx "$l"; then UTFLOC=$l; break; fi
done
UTF="env LANG=$UTFLOC LC_ALL=$UTFLOC TERM=screen-256color"
# a clean tmux config: no user settings may change what we see
CONF="$WORK/tmux.conf"
printf 'set -g default-terminal screen-256color\nset -g status off\n' >"$CONF"

screen() { T capture-pane -p -t "$1"; }
# wait_match F|E SESSION PATTERN [seconds]: polls the screen until grep
# -F (fixed string) or -E (regex) finds the pattern
wait_match() {
    local mode=$1 s=$2 pat=$3 secs=${4:-6} i
    for ((i = 0; i < secs * 10; i++)); do
        screen "$s" 2>/dev/null | grep -q"$mode" -- "$pat" && return 0
        sleep 0.1
    done
    return 1
}
wait_for() { wait_match F "$@"; }
wait_re() { wait_match E "$@"; }
wait_gone() {
    local s=$1 pat=$2 i
    for ((i = 0; i < 40; i++)); do
        screen "$s" 2>/dev/null | grep -qF -- "$pat" || return 0
        sleep 0.1
    done
    return 1
}
expect() { # expect SESSION PATTERN DESCRIPTION
    if wait_for "$1" "$2"; then ok; else bad "$3: '$2' not on screen"; screen "$1" >&2; fi
}
expect_not() {
    if screen "$1" | grep -qF -- "$2"; then bad "$3: '$2' unexpectedly on screen"; else ok; fi
}
start() { # start SESSION COLS ROWS COMMAND...
    local s=$1 c=$2 r=$3
    shift 3
    T -f "$CONF" new-session -d -s "$s" -x "$c" -y "$r" "$*"
}

# ---- 80x24: header, progress, the results page, footer
start a 80 24 "$UTF $BIN watch $RUN; echo \$? >$WORK/a.status; sleep 30"
expect a "state: done" "80x24 header"
expect a "Results: held-out protocol" "80x24 results page"
expect a "task 6/6  AveragePool" "80x24 progress"
expect a "ConvPool         99.25" "80x24 ConvPool row"
expect a "-2.07" "80x24 ConvPool delta"
expect a "q quit" "80x24 footer"
lines=$(screen a | wc -l)
wide=$(screen a | LC_ALL=$UTFLOC wc -L)
[ "$lines" -eq 24 ] && [ "$wide" -le 80 ] && ok || bad "80x24: $lines lines, widest $wide columns"
expect a "┌─ Progress" "UTF-8 box lines"

# protocol toggle
T send-keys -t a t
expect a "Results: paper protocol" "t toggles to the paper protocol"
expect a "-2.00" "paper protocol ConvPool delta"
T send-keys -t a t
expect a "Results: held-out protocol" "t toggles back"

# help overlay, closed by any key
T send-keys -t a '?'
expect a "dacc watch: keys" "help overlay"
expect a "next digit the variants disagree on" "help lists d"
T send-keys -t a x
wait_gone a "dacc watch: keys" && ok || bad "help overlay did not close"

# panels: training (1), robustness (3), system (5)
T send-keys -t a 1
expect a "Training: loss and test accuracy" "training panel"
screen a | grep -qE 'AveragePool [▁▂▃▄▅▆▇█]{3} ' && ok || bad "training sparkline"
T send-keys -t a 3
expect a "Robustness (held-out)" "robustness panel"
expect a "zero at │" "Fig. 4 zero line"
T send-keys -t a s
expect a "Δaccuracy against deformation scale" "s: delta against scale chart"
expect a "deformation scale" "scale chart x axis title"
screen a | grep -qE '^│ +-?[0-9]+\.[0-9] [│┤]' && ok || bad "scale chart: y labels in points"
screen a | LC_ALL=C grep -q $'\xe2[\xa0-\xa3]' && ok || bad "scale chart: braille line"
screen a | grep -qE '│ +0 .* 2 *│$' && ok || bad "scale chart: x labels 0 .. 2"
T send-keys -t a s
expect a "Fig. 3 clean vs x^" "s again: back to the bars"
T send-keys -t a 5
expect a "ISA avx2" "system panel ISA"
expect a "dacc_f32_conv_fwd__avx2_8x8" "system panel kernels"
# the running training's time per layer (the fixture's last metrics line has layer_ms)
expect a "Training time per step, 05-AveragePool-s1 epoch 3 (938 steps)" "system panel per-layer split"
expect a "forward  bwd-data   bwd-wts" "system panel split columns"
expect a "conv32_1               0.147     0.000     0.020     0.167" "system panel conv32_1 split"
# a layer whose two backward ops ran as one call ("bwd_data":null in the fixture)
expect a "conv64_2               0.110  (in wts)     0.572     0.682" "system panel fused layer"
expect a "the rest" "system panel rest of the step"
T send-keys -t a Tab
expect a "Training: loss" "Tab wraps to the first panel"

# inspector: step, disagreement, colours of right/wrong marked with '!'
T send-keys -t a 4
expect a "digit 1/8  #1000 (test)  label 7" "inspector first digit"
expect a "predicted   clean" "inspector prediction table"
screen a | grep -qE '[▀▄█]' && ok || bad "inspector draws the digit with half blocks"
T send-keys -t a n
expect a "digit 2/8" "n steps to the next digit"
T send-keys -t a p
expect a "digit 1/8" "p steps back"
T send-keys -t a d
expect a "variants disagree" "d jumps to a digit the variants disagree on"
expect a "digit 3/8" "d goes to digit 3"
screen a | grep -qE '[0-9] [0-9]+%!' && ok || bad "wrong predictions are marked"
T send-keys -t a Right
expect a "digit 4/8" "Right steps digits in the inspector"

# resize to 200x60: every panel at once
T resize-window -t a -x 200 -y 60
expect a "Training: loss and test accuracy" "200x60 training"
expect a "Robustness (held-out)" "200x60 robustness"
expect a "Inspector: a digit" "200x60 inspector"
expect a "System: ISA and kernels" "200x60 system"
expect a "Results: held-out protocol" "200x60 results"
lines=$(screen a | wc -l)
[ "$lines" -eq 60 ] && ok || bad "200x60: $lines lines"

# below 80x24: one message, and back
T resize-window -t a -x 70 -y 20
expect a "enlarge the terminal (need 80x24, have 70x20)" "too small message"
expect_not a "Progress" "too small shows nothing else"
T resize-window -t a -x 80 -y 24
expect a "┌─ Progress" "back to 80x24"
wait_gone a "enlarge the terminal" && ok || bad "message gone after enlarging"

# q quits below 80x24 too, with status 0
T resize-window -t a -x 60 -y 15
expect a "have 60x15" "60x15 message"
T send-keys -t a q
for _ in $(seq 50); do [ -s "$WORK/a.status" ] && break; sleep 0.1; done
[ "$(cat "$WORK/a.status" 2>/dev/null)" = "0" ] && ok || bad "q below 80x24: exit status '$(cat "$WORK/a.status" 2>/dev/null)'"

# ---- NO_COLOR: capture-pane -e shows no colour escape codes
has_colour() { # any SGR parameter that sets a colour (30-38, 40-48, 90-107; 39/49 = default)?
    T capture-pane -e -p -t "$1" | grep -oE $'\e\\[[0-9;:]*m' |
        tr -d '\033[m' | tr ';:' '\n\n' | grep -qxE '3[0-8]|4[0-8]|9[0-7]|10[0-7]'
}
start c 80 24 "$UTF $BIN watch $RUN"
expect c "Results: held-out" "colour session up"
T send-keys -t c 4
T send-keys -t c d
expect c "variants disagree" "colour inspector"
has_colour c && ok || bad "the colour session shows colour (the check can fail)"
start n 80 24 "$UTF NO_COLOR=1 $BIN watch $RUN"
expect n "Results: held-out" "NO_COLOR session up"
T send-keys -t n 4
T send-keys -t n d
expect n "variants disagree" "NO_COLOR inspector"
has_colour n && bad "NO_COLOR: colour escape codes on screen" || ok
start m 80 24 "$UTF $BIN watch --no-color $RUN"
expect m "Results: held-out" "--no-color session up"
T send-keys -t m 3
expect m "Robustness" "--no-color bars"
has_colour m && bad "--no-color: colour escape codes on screen" || ok

# ---- ASCII: explicit, and automatic in a non-UTF-8 locale
start s 80 24 "$UTF $BIN watch --ascii $RUN"
expect s "+- Progress" "--ascii box"
T send-keys -t s 4
expect s "label 7" "--ascii inspector"
screen s | LC_ALL=C grep -q $'[\x80-\xff]' && bad "--ascii: non-ASCII bytes on screen" || ok
# the training page's charts (tui/chart.c) where the page has room: titles,
# y labels, braille lines; Down changes the bright variant
start g 120 40 "$UTF $BIN watch $RUN"
expect g "state: done" "120x40 started"
T send-keys -t g 1
expect g "training loss, Original bright" "120x40 loss chart"
expect g "test accuracy %, Original bright" "120x40 accuracy chart"
expect g "0.2106 │" "loss chart: the largest loss as the top label"
expect g "99.11 │" "accuracy chart: the best accuracy as the top label"
screen g | LC_ALL=C grep -q $'\xe2[\xa0-\xa3]' && ok || bad "charts drawn in braille"
T send-keys -t g Down
expect g "training loss, StepLR bright" "Down selects the chart's bright variant"
start h 120 40 "$UTF $BIN watch --ascii $RUN"
expect h "state: done" "120x40 --ascii started"
T send-keys -t h 1
expect h "training loss, Original '*'" "--ascii charts"
T send-keys -t h 3 s
expect h "delta against deformation scale" "--ascii scale chart"
screen h | LC_ALL=C grep -q $'[\x80-\xff]' && bad "--ascii scale chart: non-ASCII bytes" || ok
T send-keys -t h s 1
wait_re h '^\| 0\.2106 \|' && ok || { bad "--ascii chart: y label and axis"; screen h >&2; }
screen h | LC_ALL=C grep -q $'[\x80-\xff]' && bad "--ascii charts: non-ASCII bytes on screen" || ok
start l 80 24 "env LANG=C LC_ALL=C TERM=screen-256color $BIN watch $RUN"
expect l "+- Progress" "C locale falls back to ASCII"
screen l | LC_ALL=C grep -q $'[\x80-\xff]' && bad "C locale: non-ASCII bytes on screen" || ok

# ---- live: a running study updates the screen as files change
LIVE="$WORK/live"
cp -r "$RUN" "$LIVE"
cat >"$LIVE/progress.json" <<'EOF'
{"state":"training","task":"05-AveragePool-s1","task_index":5,"tasks":6,"variant":"AveragePool","seed":1,"epoch":2,"epochs":3,"batch":469,"batches":938,"images_per_s":1999.0,"eta_s":754.0,"elapsed_s":1400.0,"updated":1764071234.5}
EOF
head -n 1 "$RUN/tasks/05-AveragePool-s1/metrics.jsonl" >"$LIVE/tasks/05-AveragePool-s1/metrics.jsonl"
rm -f "$LIVE/tasks/05-AveragePool-s1/results.json" "$LIVE/tasks/05-AveragePool-s1/DONE"
start v 80 24 "exec $UTF $BIN watch $LIVE"
expect v "state: training" "live: training state"
expect v "1999 img/s" "live: images/s"
expect v "ETA 12:34" "live: ETA"
expect v "AveragePool          -" "live: no results yet for the running task"
# idle CPU: the UI sleeps in getch between polls
pid=$(T display-message -p -t v '#{pane_pid}')
t0=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
sleep 3
t1=$(awk '{ print $14 + $15 }' "/proc/$pid/stat" 2>/dev/null || echo 0)
hz=$(getconf CLK_TCK)
[ $(((t1 - t0) * 100 / hz)) -lt 30 ] && ok || bad "idle CPU: $((t1 - t0)) ticks in 3 s"
# a line being written does not show, a finished one does
printf '%s' "$(sed -n 2p "$RUN/tasks/05-AveragePool-s1/metrics.jsonl" | head -c 40)" >>"$LIVE/tasks/05-AveragePool-s1/metrics.jsonl"
T send-keys -t v 1
expect v "Training: loss" "live: training panel"
expect v "98.57   1" "live: AveragePool has one epoch"
sed -n 2p "$RUN/tasks/05-AveragePool-s1/metrics.jsonl" | tail -c +41 >>"$LIVE/tasks/05-AveragePool-s1/metrics.jsonl"
expect v "98.80   2" "live: the completed line appears"
cp "$RUN/tasks/05-AveragePool-s1/results.json" "$LIVE/tasks/05-AveragePool-s1/results.json.tmp"
mv "$LIVE/tasks/05-AveragePool-s1/results.json.tmp" "$LIVE/tasks/05-AveragePool-s1/results.json"
cp "$RUN/progress.json" "$LIVE/progress.json.tmp"
mv "$LIVE/progress.json.tmp" "$LIVE/progress.json"
T send-keys -t v 2
expect v "state: done" "live: done"
expect v "AveragePool      99.15" "live: results appear"

# ---- plain mode: stdout is a pipe
out="$WORK/plain.txt"
timeout 20 env LANG=$UTFLOC "$BIN" watch --exit-when-done "$RUN" </dev/null | cat >"$out"
rc=${PIPESTATUS[0]}
[ "$rc" -eq 0 ] && ok || bad "plain mode exit status $rc"
grep -q "Held-out protocol" "$out" && grep -q "Paper protocol" "$out" && ok || bad "plain: final tables missing"
# every variant's held-out numbers (tests/fixtures/make_run_sample.py)
for row in "Original +1 +99.21 .* 98.46 +-0.75" "StepLR +1 +99.07 .* 98.12 +-0.95" \
    "BatchNorm +1 +98.74 .* 97.33 +-1.41" "Dropout +1 +99.32 .* 98.29 +-1.03" \
    "ConvPool +1 +99.25 .* 97.18 +-2.07" "AveragePool +1 +99.15 .* 98.51 +-0.64"; do
    grep -qE "^$row\$" "$out" && ok || bad "plain: no line matching '$row'"
done
[ "$(grep -c ' epoch  .* seed 1 epoch ' "$out")" -eq 18 ] && ok || bad "plain: expected 18 epoch lines, got $(grep -c ' epoch  .* seed 1 epoch ' "$out")"
LC_ALL=C grep -q $'\e' "$out" && bad "plain: escape codes in piped output" || ok
# without --exit-when-done, SIGTERM ends plain mode cleanly, with the tables
"$BIN" watch --plain "$LIVE" </dev/null >"$WORK/term.txt" 2>&1 &
wpid=$!
sleep 1
kill -TERM "$wpid"
wait "$wpid"
rc=$?
[ "$rc" -eq 0 ] && grep -q "Paper protocol" "$WORK/term.txt" && ok || bad "SIGTERM in plain mode: status $rc"
"$BIN" watch --plain --exit-when-done "$WORK/nonexistent" >/dev/null 2>"$WORK/err.txt"
rc=$?
[ "$rc" -eq 1 ] && grep -q "nonexistent" "$WORK/err.txt" && ok || bad "missing dir: status $rc, '$(cat "$WORK/err.txt")'"
"$BIN" watch --bogus "$RUN" >/dev/null 2>&1
[ $? -eq 2 ] && ok || bad "unknown option is a usage error"
"$BIN" watch --help | grep -q -- "--exit-when-done" && ok || bad "--help"

finish
