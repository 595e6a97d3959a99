/* A small, tolerant JSON reader for the run directory's files. Parses into a
 * read-only tree held in one arena; bounded in depth and input size, and
 * never crashes on malformed input (it reports where parsing stopped). */
#ifndef DACC_TUI_JSON_H
#define DACC_TUI_JSON_H
#include <stddef.h>

enum { TJ_NULL, TJ_FALSE, TJ_TRUE, TJ_NUM, TJ_STR, TJ_ARR, TJ_OBJ };

#define TJ_MAX_DEPTH 64
#define TJ_MAX_INPUT (64u << 20)

typedef struct tj_value tj_value;
struct tj_value {
    int type;
    double num;        /* TJ_NUM (may be +-inf for huge literals) */
    const char *str;   /* TJ_STR: NUL-terminated, UTF-8; TJ_OBJ member: key */
    size_t len;        /* TJ_STR: bytes; TJ_ARR/TJ_OBJ: number of children */
    const char *key;   /* set when this value is an object member */
    tj_value *child;   /* first element/member */
    tj_value *next;    /* next sibling */
};

typedef struct tj_doc tj_doc;

/* Parses n bytes of s. Returns a document (free with tj_free) or NULL with a
 * message in err ("line L col C: what"). */
tj_doc *tj_parse(const char *s, size_t n, char *err, size_t errn);
const tj_value *tj_root(const tj_doc *d);
void tj_free(tj_doc *d);

/* Accessors: all accept NULL and wrong types and then return NULL/def. */
const tj_value *tj_get(const tj_value *obj, const char *key);
const tj_value *tj_at(const tj_value *arr, size_t i);
size_t tj_len(const tj_value *v); /* children of an array/object, else 0 */
double tj_num(const tj_value *v, double def);
/* A number clamped to [lo, hi] and truncated; def when missing, not a
 * number or NaN. Safe for any literal (no float->int overflow). */
long tj_int(const tj_value *v, long def, long lo, long hi);
const char *tj_str(const tj_value *v, const char *def);

#endif
