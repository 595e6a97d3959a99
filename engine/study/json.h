/* The run directory's JSON reader (defined in study/report.c): a tree of
 * values, strict enough to reject a truncated file. */
#ifndef DACC_STUDY_JSON_H
#define DACC_STUDY_JSON_H
#include "dacc/err.h"
#include <stddef.h>

enum { J_NULL, J_BOOL, J_NUM, J_STR, J_ARR, J_OBJ };
typedef struct jv {
    int type;
    double num;
    char *str;
    int n, cap;
    struct jv *items;
    char **keys; /* objects only */
} jv;

/* Parses a whole document; trailing bytes other than whitespace are an error. */
int json_parse(const char *s, size_t n, jv *out, char *err, size_t errn);
/* Reads and parses PATH (at most 16 MiB). */
int read_json(const char *path, jv *out, dacc_err *e);
void jv_free(jv *v);
/* The member KEY of object O, or NULL. */
const jv *jget(const jv *o, const char *key);
/* 1 and *OUT when V is a number, else 0. */
int jnum(const jv *v, double *out);

#endif
