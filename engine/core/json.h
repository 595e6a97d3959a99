/* THE JSON reader and writer of dacc (the run directory's files are its only
 * JSON today; engine/study/rundir*.c is their owner and the only caller
 * besides `dacc report`'s output). It lives in core/ because it knows no
 * format: a subsystem that needs JSON later uses it without depending on
 * study/.
 *
 * Reader: parses into a read-only tree held in one arena; bounded in depth
 * (DACC_J_MAX_DEPTH) and input size (DACC_J_MAX_INPUT), strict (a truncated
 * or trailing-garbage document is an error, so a half-written file is
 * rejected, not half-read), and never crashes on malformed input (it says
 * where parsing stopped). Children of an array or object are a linked list:
 * walk them with ->child / ->next (dacc_json_at is O(i)).
 *
 * Writer: the few primitives every writer needs, on a FILE (usually an
 * open_memstream buffer that is then written atomically). */
#ifndef DACC_CORE_JSON_H
#define DACC_CORE_JSON_H
#include <stddef.h>
#include <stdio.h>

enum { DACC_J_NULL, DACC_J_FALSE, DACC_J_TRUE, DACC_J_NUM, DACC_J_STR, DACC_J_ARR, DACC_J_OBJ };

#define DACC_J_MAX_DEPTH 64
#define DACC_J_MAX_INPUT (64u << 20)

typedef struct dacc_jv dacc_jv;
struct dacc_jv {
    int type;
    double num;        /* DACC_J_NUM (may be +-inf for huge literals) */
    const char *str;   /* DACC_J_STR: NUL-terminated, UTF-8 */
    size_t len;        /* DACC_J_STR: bytes; DACC_J_ARR/DACC_J_OBJ: number of children */
    const char *key;   /* set when this value is an object member */
    dacc_jv *child;    /* first element/member */
    dacc_jv *next;     /* next sibling */
};

typedef struct dacc_jdoc dacc_jdoc;

/* Parses n bytes of s. Returns a document (free with dacc_json_free) or
 * NULL with a message in err ("line L col C: what"). */
dacc_jdoc *dacc_json_parse(const char *s, size_t n, char *err, size_t errn);
const dacc_jv *dacc_json_root(const dacc_jdoc *d);
void dacc_json_free(dacc_jdoc *d);

/* Accessors: all accept NULL and wrong types and then return NULL/def. */
const dacc_jv *dacc_json_get(const dacc_jv *obj, const char *key);
const dacc_jv *dacc_json_at(const dacc_jv *arr, size_t i);
size_t dacc_json_len(const dacc_jv *v); /* children of an array/object, else 0 */
double dacc_json_num(const dacc_jv *v, double def);
/* A number clamped to [lo, hi] and truncated; def when missing, not a
 * number or NaN. Safe for any literal (no float->int overflow). */
long dacc_json_int(const dacc_jv *v, long def, long lo, long hi);
const char *dacc_json_str(const dacc_jv *v, const char *def);
/* 1 and *out set when v is a number, else 0. */
int dacc_json_isnum(const dacc_jv *v, double *out);

/* Writer. A string quoted and escaped ('"', '\\', control characters). */
void dacc_json_put_str(FILE *f, const char *s);
/* A number with printf format FMT, or null when it is NaN or infinite. */
void dacc_json_put_num(FILE *f, double v, const char *fmt);

#endif
