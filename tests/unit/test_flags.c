/* The CLI flag table and parser (engine/cli/flags.c, study_flags.c): integer
 * and number parsing at and beyond their ranges and 64 bits, the error text
 * "--flag: <what> (expected ...)", text values refused past FLAG_TEXT_MAX
 * instead of truncated, choices, switches, operands, every table default
 * inside its own range and equal to the engine's default, --shard and the
 * Slurm array variables without 32-bit overflow. */
#include "cli/flags.h"
#include "cli/study_flags.h"
#include "dacc/align.h"
#include "dacc/robustness.h"
#include "dacc/train.h"
#include "harness.h"
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define HAS(msg, s) (strstr((msg), (s)) != NULL)

static void test_int(void) {
    dacc_err e;
    long long v = -7;
    CHECK(flag_parse_int("--n", "10", 1, 10, &v, &e) == 0 && v == 10, "hi accepted");
    CHECK(flag_parse_int("--n", "1", 1, 10, &v, &e) == 0 && v == 1, "lo accepted");
    CHECK(flag_parse_int("--n", "-3", -5, 10, &v, &e) == 0 && v == -3, "negative accepted");
    v = 42;
    CHECK(flag_parse_int("--n", "11", 1, 10, &v, &e) < 0 && v == 42, "hi+1 refused, value untouched");
    CHECK(!strcmp(e.msg, "--n: 11 is out of range (expected an integer from 1 to 10)"), "message: %s", e.msg);
    CHECK(flag_parse_int("--n", "0", 1, 10, &v, &e) < 0, "lo-1 refused");
    CHECK(flag_parse_int("--n", "abc", 1, 10, &v, &e) < 0 &&
              !strcmp(e.msg, "--n: 'abc' is not an integer (expected an integer from 1 to 10)"),
          "message: %s", e.msg);
    const char *bad[] = {"", " 5", "5 ", "5x", "0x10", "1e3", "--5", "+"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(flag_parse_int("--n", bad[i], -100, 100, &v, &e) < 0 && HAS(e.msg, "not an integer"),
              "'%s' refused: %s", bad[i], e.msg);
    /* beyond 32 and 64 bits: refused, never wrapped into range */
    CHECK(flag_parse_int("--n", "4294967297", 1, 10, &v, &e) < 0 && HAS(e.msg, "out of range"), "2^32+1");
    CHECK(flag_parse_int("--n", "99999999999999999999", 1, 10, &v, &e) < 0 && HAS(e.msg, "out of range"),
          "2^66: %s", e.msg);
    CHECK(flag_parse_int("--n", "-99999999999999999999", -10, 10, &v, &e) < 0 && HAS(e.msg, "out of range"),
          "-2^66");
    CHECK(flag_parse_int("--n", "9223372036854775807", 0, 9223372036854775807LL, &v, &e) == 0 &&
              v == 9223372036854775807LL, "INT64_MAX itself");
}

static void test_real(void) {
    dacc_err e;
    double v = -1;
    CHECK(flag_parse_real("--x", "0.5", 0, 1, &v, &e) == 0 && v == 0.5, "0.5");
    CHECK(flag_parse_real("--x", "1e-9", 1e-9, 10, &v, &e) == 0, "lo accepted");
    CHECK(flag_parse_real("--x", "10.0001", 1e-9, 10, &v, &e) < 0 && HAS(e.msg, "out of range"), "hi refused");
    const char *bad[] = {"nan", "inf", "-inf", "", "1..2", "1,5", " 1"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        CHECK(flag_parse_real("--x", bad[i], -100, 100, &v, &e) < 0 && HAS(e.msg, "--x: ") &&
                  HAS(e.msg, "(expected a number from -100 to 100)"),
              "'%s' refused: %s", bad[i], e.msg);
    CHECK(flag_parse_real("--x", "1e400", 0, 1e308, &v, &e) < 0, "overflowing number refused");
}

static const flag_use test_uses[] = {
    {F_EPOCHS, NULL, NULL, NULL, 0}, {F_LR, NULL, NULL, NULL, 0},   {F_OUT, NULL, "o", NULL, 0},
    {F_PROTOCOL, NULL, NULL, NULL, 0}, {F_PLAIN, NULL, NULL, NULL, 0}, {F_NO_COLOR, NULL, NULL, NULL, 0},
    {F_THREADS, NULL, NULL, NULL, 1}, {F_HELP, NULL, NULL, NULL, 0},
};
static const flag_command test_cmd = {"t", "usage: t", NULL, test_uses, 8, NULL, 1, "X"};

static int parse(flag_values *v, dacc_err *e, int n, ...) {
    char *argv[16] = {"t"};
    va_list ap;
    va_start(ap, n);
    for (int i = 0; i < n; i++) argv[i + 1] = va_arg(ap, char *);
    va_end(ap);
    return flags_parse_err(&test_cmd, n + 1, argv, v, e);
}

static void test_parse(void) {
    flag_values v;
    dacc_err e;
    CHECK(parse(&v, &e, 0) == 0 && v.i[F_EPOCHS] == 20 && v.r[F_LR] == 0.001 && !strcmp(v.s[F_OUT], "o") &&
              v.i[F_PROTOCOL] == 0 && !v.set[F_EPOCHS] && !v.set[F_PLAIN] && !v.set[F_THREADS],
          "defaults (the command's --out default wins)");
    CHECK(parse(&v, &e, 5, "--epochs", "3", "--lr=0.5", "--plain") == 0 && v.i[F_EPOCHS] == 3 &&
              v.set[F_EPOCHS] && v.r[F_LR] == 0.5 && v.set[F_PLAIN],
          "--flag V, --flag=V and a switch: %s", e.msg);
    CHECK(parse(&v, &e, 4, "--epochs", "3", "--epochs", "4") == 0 && v.i[F_EPOCHS] == 4, "the last one wins");
    CHECK(parse(&v, &e, 2, "--lr", "-1") < 0 && HAS(e.msg, "--lr: -1 is out of range"), "a value may start with -");
    CHECK(parse(&v, &e, 2, "--protocol", "paper") == 0 && v.i[F_PROTOCOL] == 1, "choice index");
    CHECK(parse(&v, &e, 2, "--protocol", "pap") < 0 &&
              !strcmp(e.msg, "--protocol: 'pap' is not a choice (expected default|paper)"),
          "prefix of a choice refused: %s", e.msg);
    CHECK(parse(&v, &e, 1, "--epochs") < 0 && !strcmp(e.msg, "--epochs: missing value (expected --epochs N)"),
          "missing value: %s", e.msg);
    CHECK(parse(&v, &e, 1, "--plain=1") < 0 && HAS(e.msg, "--plain: takes no value"), "switch with a value");
    CHECK(parse(&v, &e, 1, "--epoch") < 0 && HAS(e.msg, "--epoch: unknown option"), "prefix of a flag refused");
    CHECK(parse(&v, &e, 1, "--frob=3") < 0 && HAS(e.msg, "--frob: unknown option"), "unknown flag named alone");
    CHECK(parse(&v, &e, 1, "--no-colour") == 0 && v.set[F_NO_COLOR], "alias");
    CHECK(parse(&v, &e, 2, "--threads", "2000") < 0 && HAS(e.msg, "(expected an integer from 1 to 1024)"),
          "hidden flags are checked too: %s", e.msg);
    CHECK(parse(&v, &e, 3, "--epochs", "x", "--help") < 0, "an error before --help is reported");
    CHECK(parse(&v, &e, 3, "--help", "--epochs", "x") == 1, "--help first: help, nothing else checked");
    CHECK(parse(&v, &e, 1, "-h") == 1, "-h");
    CHECK(parse(&v, &e, 2, "a", "-") < 0 && HAS(e.msg, "'-': unexpected argument"), "one operand at most");
    CHECK(parse(&v, &e, 1, "a") == 0 && v.npos == 1 && !strcmp(v.pos[0], "a"), "operand kept");
    /* text: refused past FLAG_TEXT_MAX, never truncated; empty refused */
    char *big = malloc(FLAG_TEXT_MAX + 2);
    memset(big, 'd', FLAG_TEXT_MAX + 1);
    big[FLAG_TEXT_MAX + 1] = 0;
    CHECK(parse(&v, &e, 2, "--out", big) < 0 &&
              !strcmp(e.msg, "--out: value of 4096 characters is too long (expected at most 4095)"),
          "4096 characters refused: %s", e.msg);
    big[FLAG_TEXT_MAX] = 0;
    CHECK(parse(&v, &e, 2, "--out", big) == 0 && strlen(v.s[F_OUT]) == FLAG_TEXT_MAX, "4095 characters kept");
    free(big);
    CHECK(parse(&v, &e, 1, "--out=") < 0 && HAS(e.msg, "--out: empty value"), "empty text refused");
}

/* Every flag's default parses inside its own range; the defaults shown in
 * --help are the engine's. */
static void test_table(void) {
    flag_use all[F_COUNT];
    int n = 0;
    for (int id = 0; id < F_COUNT; id++) {
        const flag_def *d = &flag_table[id];
        CHECK(d->name && !strncmp(d->name, "--", 2) && d->help && *d->help, "flag %d has a name and help", id);
        CHECK((d->type == FLAG_BOOL) == (d->meta == NULL), "%s: a value flag has a META, a switch none", d->name);
        CHECK(d->type != FLAG_CHOICE || (d->choices && d->def), "%s: a choice has choices and a default", d->name);
        if (id != F_REPORT_PROTOCOL) all[n++] = (flag_use){(flag_id)id, NULL, NULL, NULL, 0};
        for (int k = 0; k < id; k++)
            if (!strcmp(flag_table[k].name, d->name))
                CHECK(k == F_PROTOCOL && id == F_REPORT_PROTOCOL, "%s defined twice", d->name);
    }
    flag_command c = {"all", "usage", NULL, all, n, NULL, 0, NULL};
    flag_values v;
    dacc_err e;
    char *argv[] = {"all"};
    CHECK(flags_parse_err(&c, 1, argv, &v, &e) == 0, "every default parses: %s", e.msg);
    flag_use rp = {F_REPORT_PROTOCOL, NULL, NULL, NULL, 0};
    flag_command r = {"report", "usage", NULL, &rp, 1, NULL, 0, NULL};
    CHECK(flags_parse_err(&r, 1, argv, &v, &e) == 0 && v.i[F_REPORT_PROTOCOL] == 2, "report --protocol both");
    flags_parse_err(&c, 1, argv, &v, &e);
    dacc_train_config t;
    dacc_train_config_default(&t);
    CHECK(v.i[F_EPOCHS] == t.epochs && v.i[F_BATCH] == t.batch && (float)v.r[F_LR] == t.lr &&
              (uint64_t)v.i[F_SEED] == t.seed && v.i[F_PROTOCOL] == t.paper,
          "training defaults as dacc_train_config_default");
    dacc_align_options o;
    dacc_align_options_default(&o);
    CHECK(v.i[F_BLOCKS] == o.blocks && (uint64_t)v.i[F_SEED] == o.seed && v.r[F_SCALE] == o.scale &&
              v.i[F_PAIRS] == o.pairs_per_class && (uint64_t)v.i[F_FIT_SEED] == o.fit_seed,
          "AlignMNIST defaults as dacc_align_options_default");
    CHECK(flag_table[F_BLOCKS].hi == DACC_MAX_BLOCKS - 1, "--blocks up to what a robustness result holds");
}

static void test_study(void) {
    dacc_err e;
    int i = -1, n = -1;
    CHECK(study_flags_shard("1/2", &i, &n, &e) == 0 && i == 1 && n == 2, "1/2");
    CHECK(study_flags_shard("0/2147483647", &i, &n, &e) == 0 && n == 2147483647, "N = 2^31-1");
    i = n = -1;
    const char *bad[] = {"0/99999999999", "0/2147483648", "3/2", "2/2", "-1/2", "1/", "/2", "1", "1/2/3",
                         "1/2x", "99999999999999999999/3", "0/0"};
    for (size_t k = 0; k < sizeof bad / sizeof *bad; k++)
        CHECK(study_flags_shard(bad[k], &i, &n, &e) < 0 && i == -1 && n == -1 && HAS(e.msg, "--shard: '"),
              "--shard %s refused: %s", bad[k], e.msg);
    /* id -2^31 - MIN 1 does not fit in 32 bits: position -2^31-1, shard 0 of 3 */
    CHECK(study_flags_slurm("-2147483648", "3", "1", NULL, &i, &n, &e) == 0 && i == 0 && n == 3,
          "Slurm id -2^31: shard %d/%d", i, n);
    CHECK(study_flags_slurm("2147483647", "3", "-2147483648", "1", &i, &n, &e) == 0 && i == (int)(4294967295LL % 3),
          "Slurm id 2^31-1 from MIN -2^31: shard %d", i);
    CHECK(study_flags_slurm("13", "4", "5", "4", &i, &n, &e) == 0 && i == 2 && n == 4, "MIN 5 STEP 4: id 13 is #2");
    CHECK(study_flags_slurm("7", "3", NULL, NULL, &i, &n, &e) == 0 && i == 1, "no MIN/STEP");
    CHECK(study_flags_slurm("2147483648", "3", NULL, NULL, &i, &n, &e) < 0 && HAS(e.msg, "SLURM_ARRAY_TASK_ID"),
          "id beyond 32 bits named");
    CHECK(study_flags_slurm("1", "0", NULL, NULL, &i, &n, &e) < 0 && HAS(e.msg, "SLURM_ARRAY_TASK_COUNT"), "count 0");
    CHECK(study_flags_slurm("1", "3", NULL, "0", &i, &n, &e) < 0 && HAS(e.msg, "SLURM_ARRAY_TASK_STEP"), "step 0");
    dacc_study_config *c = calloc(1, sizeof *c);
    CHECK(study_flags_seeds("3", c, &e) == 0 && c->n_seeds == 3 && c->seeds[2] == 3, "--seeds 3");
    CHECK(study_flags_seeds("5,0,2147483647", c, &e) == 0 && c->n_seeds == 3 && c->seeds[2] == 2147483647ULL,
          "--seeds list");
    CHECK(study_flags_seeds("33", c, &e) < 0 && HAS(e.msg, "--seeds: 33 is out of range"), "33 seeds: %s", e.msg);
    CHECK(study_flags_seeds("1,4294967297", c, &e) < 0 && HAS(e.msg, "out of range"), "seed beyond 32 bits");
    CHECK(study_flags_variants("Original;AveragePool", c, &e) == 0 && c->n_variants == 2, "two variants");
    CHECK(study_flags_variants("Original;Original", c, &e) < 0 && HAS(e.msg, "two variants are named"), "duplicate");
    free(c);
}

int main(void) {
    test_int();
    test_real();
    test_parse();
    test_table();
    test_study();
    return test_finish();
}
