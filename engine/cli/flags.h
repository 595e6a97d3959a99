/* The flags of every dacc command in one table (flags.c): name, type, range,
 * default and help text, each defined once. A command lists the flags it
 * takes (flag_use) and gets their parsed values (flag_values); --help is
 * printed from the same lists, and every usage error reads
 *   dacc CMD: --flag: <what is wrong> (expected ...)
 * with exit code 2. Integers and numbers are parsed with strtoll/strtod and
 * range-checked before use; text values (paths, lists) are refused when
 * longer than FLAG_TEXT_MAX instead of being truncated later. */
#ifndef DACC_CLI_FLAGS_H
#define DACC_CLI_FLAGS_H
#include "dacc/err.h"
#include <stdio.h>

/* Worker threads: enough for the largest nodes in use (2 sockets x 192
 * cores x SMT 2 = 768), small enough that a typo is refused before a
 * thread pool and per-thread buffers are made for it. */
#define FLAG_MAX_THREADS 1024
/* Longest text value (a path, a variant list): PATH_MAX less its NUL. */
#define FLAG_TEXT_MAX 4095
#define FLAG_MAX_POSITIONAL 4096 /* operands (dacc report DIR...) */

typedef enum flag_type {
    FLAG_BOOL,   /* present or not */
    FLAG_INT,    /* integer in [lo, hi] */
    FLAG_REAL,   /* finite number in [rlo, rhi] */
    FLAG_TEXT,   /* string of at most FLAG_TEXT_MAX bytes, not empty */
    FLAG_CHOICE, /* one of the '|'-separated words of choices; value = index */
} flag_type;

typedef enum flag_id {
    F_HELP,
    /* shared by several commands */
    F_OUT, F_DATA, F_THREADS, F_JOBS, F_BLOCKS, F_SEED, F_SEEDS, F_SHARD, F_VARIANTS, F_VARIANT, F_EPOCHS,
    F_BATCH, F_LR, F_PROTOCOL, F_TRAIN_LIMIT, F_ALIGNMNIST, F_ALIGNMNIST_TEST, F_SCALE, F_PLAIN,
    F_NO_COLOR, F_QUIET,
    /* one command each */
    F_NO_ALIGN, F_RESUME, F_TRAIN, F_NPZ, F_FIT, F_PAIRS, F_FIT_SEED, F_MODEL, F_INDEX, F_SPLIT,
    F_FILE, F_FULL, F_FETCH, F_NO_FETCH, F_VERIFY, F_ASCII, F_EXIT_WHEN_DONE, F_MINE,
    F_REPORT_PROTOCOL, F_PRIOR, F_LAMBDA, F_BOUNDARY, F_MEASURE, F_LIMIT,
    F_ISA, F_LAYER, F_REPS, F_JSON,
    F_SCALES,
    F_COUNT
} flag_id;

typedef struct flag_def {
    const char *name;    /* "--threads" */
    const char *alias;   /* another spelling ("-h", "--no-colour") or NULL */
    flag_type type;
    const char *meta;    /* "N", "DIR" in the help; NULL for FLAG_BOOL */
    long long lo, hi;    /* FLAG_INT range */
    double rlo, rhi;     /* FLAG_REAL range */
    const char *choices; /* FLAG_CHOICE: "default|paper" */
    const char *def;     /* default as typed on the command line; NULL = none */
    const char *help;    /* one or more lines ('\n' continues the text) */
} flag_def;

/* A flag as one command takes it. help/def/meta override the table's where
 * the flag means something particular there (--out is a file for train, a
 * folder for run); hidden flags are accepted and checked but not listed.
 * def is a value the command really uses (it is parsed and stored); a
 * default that is not a value ("the first DIR") belongs in the help text. */
typedef struct flag_use {
    flag_id id;
    const char *help;
    const char *def;
    const char *meta;
    int hidden;
} flag_use;

typedef struct flag_command {
    const char *name;       /* "run" */
    const char *usage;      /* the usage line(s), without the trailing newline */
    const char *about;      /* text between the usage and the options, or NULL */
    const flag_use *flags;
    int nflags;
    const char *epilogue;   /* text after the options, or NULL */
    int max_positional;     /* operands accepted (CHECKPOINT, DIR...) */
    const char *positional; /* their name in errors, e.g. "CHECKPOINT" */
} flag_command;

typedef struct flag_values {
    unsigned char set[F_COUNT];  /* given on the command line */
    long long i[F_COUNT];        /* FLAG_INT value, FLAG_CHOICE index, FLAG_BOOL 0/1 */
    double r[F_COUNT];           /* FLAG_REAL value */
    const char *s[F_COUNT];      /* the text as given (or the default) */
    const char *pos[FLAG_MAX_POSITIONAL];
    int npos;
} flag_values;

extern const flag_def flag_table[F_COUNT];

/* Parses argv[1..argc-1] (argv[0] is the command name). Defaults are set
 * first. Returns 0 to go on, 1 when --help was asked for (nothing else is
 * checked), -1 with e naming the flag and what was wrong. */
int flags_parse_err(const flag_command *c, int argc, char **argv, flag_values *v, dacc_err *e);
/* flags_parse_err for a command's main(): prints the help to stdout or
 * "dacc CMD: <error>" to stderr. Returns -1 to go on, else the exit code
 * (0 after --help, 2 after a usage error). */
int flags_parse(const flag_command *c, int argc, char **argv, flag_values *v);
/* The --help text of c. */
void flags_help(const flag_command *c, FILE *f);
/* Prints "dacc CMD: <msg>" and returns 2: usage errors found after parsing. */
int flags_usage_error(const flag_command *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* The value parsers behind the table, for the values of composite flags
 * (--seeds 1,2,3, --shard I/N). name is the flag in the message. */
int flag_parse_int(const char *name, const char *s, long long lo, long long hi, long long *out, dacc_err *e);
int flag_parse_real(const char *name, const char *s, double lo, double hi, double *out, dacc_err *e);

#endif
