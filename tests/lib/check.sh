# Sourced by the end-to-end scripts (tests/e2e/*.sh): finds the source tree
# and the dacc binary, makes a scratch folder that is removed on exit, counts
# checks and prints the "N passed, N failed[, N skipped]" line of every test.
#
#   . "$(dirname "$0")/../lib/check.sh"
#   e2e_setup NAME              SRC, DACC (= BIN), WORK; exits with a failure
#                               when the binary is missing
#   check WHAT CMD [ARG...]     passes when CMD exits 0
#   check_sh WHAT 'TEXT'        passes when the shell text, evaluated, exits 0;
#                               it is evaluated first, so $? in it is the exit
#                               status of the command before the check
#   ok | bad WHAT | skip WHAT   count by hand
#   e2e_mnist NTRAIN NTEST      a mini MNIST in $WORK/mnist (mini_mnist.sh);
#                               fails the test when there is no MNIST
#   finish                      prints the counts; exit status 0 only if
#                               nothing failed
#
# Env: DACC_BIN (the dacc executable; default SRC/build/dacc),
# DACC_SOURCE_DIR (the source tree; default two folders above the script).
# A script that must stop processes or fix permissions before WORK is
# removed defines e2e_cleanup.

pass=0 fail=0 skipped=0
ok() { pass=$((pass + 1)); }
bad() { fail=$((fail + 1)); echo "FAIL: $*" >&2; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*" >&2; }
check() {
    local what=$1
    shift
    if "$@"; then ok; else bad "$what"; fi
}
check_sh() { if eval "$2"; then ok; else bad "$1"; fi; }

# the counts line; ", N skipped" only when something was skipped
finish() {
    if [ "$skipped" -gt 0 ]; then echo "$pass passed, $fail failed, $skipped skipped"
    else echo "$pass passed, $fail failed"; fi
    [ "$fail" -eq 0 ]
    exit $?
}

e2e_exit() {
    declare -F e2e_cleanup >/dev/null && e2e_cleanup
    rm -rf "$WORK"
}

e2e_setup() { # NAME: names the scratch folder
    SRC=${DACC_SOURCE_DIR:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}
    DACC=${DACC_BIN:-$SRC/build/dacc}
    BIN=$DACC
    if [ ! -x "$DACC" ]; then
        echo "FAIL: dacc binary not found at $DACC (set DACC_BIN)" >&2
        echo "0 passed, 1 failed"
        exit 1
    fi
    WORK=$(mktemp -d "${TMPDIR:-/tmp}/dacc-$1.XXXXXX")
    trap e2e_exit EXIT
    trap 'exit 130' INT TERM
    . "$SRC/tests/lib/mini_mnist.sh"
}

e2e_mnist() { # NTRAIN NTEST
    mini_mnist "$WORK/mnist" "$1" "$2" || { echo "FAIL: no MNIST" >&2; echo "0 passed, 1 failed"; exit 1; }
}
