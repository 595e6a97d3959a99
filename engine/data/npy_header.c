/* npy header text: the dtype string and the Python dict literal numpy
 * writes ({'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }),
 * parsed strictly and within the bytes given (see npy_header.h). */
#include "data/npy_header.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* ---- dtypes -------------------------------------------------------------- */

int npy_parse_dtype(const char *d, char *kind, int *size, int *swap) {
    if (strlen(d) != 3) return -1;
    char order = d[0], k = d[1];
    int s = d[2] - '0';
    if (order != '<' && order != '>' && order != '|' && order != '=') return -1;
    if (k == 'b') {
        if (s != 1) return -1;
    } else if (k == 'i' || k == 'u') {
        if (s != 1 && s != 2 && s != 4 && s != 8) return -1;
    } else if (k == 'f') {
        if (s != 4 && s != 8) return -1;
    } else {
        return -1;
    }
    /* byte order only matters for multi-byte types; '|' only valid for 1 byte */
    if (order == '|' && s != 1) return -1;
    *kind = k;
    *size = s;
    *swap = order == '>' && s > 1;
    return 0;
}

int dacc_npy_dtype_size(const char *dtype) {
    char k;
    int s, sw;
    return dtype && npy_parse_dtype(dtype, &k, &s, &sw) == 0 ? s : 0;
}

int dacc_npy_itemsize(const dacc_npy_array *a) { return dacc_npy_dtype_size(a->dtype); }

/* ---- the npy header dict literal --------------------------------------- */

typedef struct {
    const char *p, *end;
} cursor;

static void skip_ws(cursor *c) {
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
        c->p++;
}

static int parse_str(cursor *c, char *out, size_t n) {
    skip_ws(c);
    if (c->p >= c->end || (*c->p != '\'' && *c->p != '"')) return -1;
    char q = *c->p++;
    size_t k = 0;
    while (c->p < c->end && *c->p != q) {
        if (*c->p == '\\') return -1;
        if (k + 1 >= n) return -1;
        out[k++] = *c->p++;
    }
    if (c->p >= c->end) return -1;
    c->p++;
    out[k] = '\0';
    return 0;
}

static int parse_lit(cursor *c, const char *lit) {
    skip_ws(c);
    size_t l = strlen(lit);
    if ((size_t)(c->end - c->p) < l || memcmp(c->p, lit, l)) return -1;
    c->p += l;
    return 0;
}

int npy_parse_header(const char *txt, size_t len, dacc_npy_array *a, int *fortran,
                        char *msg, size_t msgn) {
    cursor c = {txt, txt + len};
    int have_descr = 0, have_fo = 0, have_shape = 0;
    if (parse_lit(&c, "{")) return snprintf(msg, msgn, "npy header is not a dict"), -1;
    for (;;) {
        skip_ws(&c);
        if (c.p < c.end && *c.p == '}') {
            c.p++;
            break;
        }
        char key[32];
        if (parse_str(&c, key, sizeof key) || parse_lit(&c, ":"))
            return snprintf(msg, msgn, "npy header: malformed dict"), -1;
        if (!strcmp(key, "descr")) {
            skip_ws(&c);
            if (c.p < c.end && *c.p == '[')
                return snprintf(msg, msgn, "structured dtypes are not supported"), -1;
            char d[16];
            if (parse_str(&c, d, sizeof d))
                return snprintf(msg, msgn, "npy header: 'descr' is not a short string"), -1;
            snprintf(a->dtype, sizeof a->dtype, "%.7s", d);
            if (strlen(d) >= sizeof a->dtype) a->dtype[0] = '?';
            have_descr = 1;
        } else if (!strcmp(key, "fortran_order")) {
            if (!parse_lit(&c, "True")) *fortran = 1;
            else if (!parse_lit(&c, "False")) *fortran = 0;
            else return snprintf(msg, msgn, "npy header: 'fortran_order' is not True/False"), -1;
            have_fo = 1;
        } else if (!strcmp(key, "shape")) {
            if (parse_lit(&c, "("))
                return snprintf(msg, msgn, "npy header: 'shape' is not a tuple"), -1;
            a->ndim = 0;
            for (;;) {
                skip_ws(&c);
                if (c.p < c.end && *c.p == ')') {
                    c.p++;
                    break;
                }
                if (c.p >= c.end || *c.p < '0' || *c.p > '9')
                    return snprintf(msg, msgn, "npy header: bad 'shape'"), -1;
                int64_t v = 0;
                while (c.p < c.end && *c.p >= '0' && *c.p <= '9') {
                    if (v > (INT64_MAX - 9) / 10)
                        return snprintf(msg, msgn, "npy header: shape too large"), -1;
                    v = v * 10 + (*c.p++ - '0');
                }
                if (c.p < c.end && *c.p == 'L') c.p++; /* Python 2 longs */
                if (a->ndim >= DACC_NPY_MAXDIM)
                    return snprintf(msg, msgn, "more than %d dimensions", DACC_NPY_MAXDIM), -1;
                a->shape[a->ndim++] = v;
                skip_ws(&c);
                if (c.p < c.end && *c.p == ',') c.p++;
                else if (c.p < c.end && *c.p == ')') continue;
                else return snprintf(msg, msgn, "npy header: bad 'shape'"), -1;
            }
            have_shape = 1;
        } else {
            return snprintf(msg, msgn, "npy header: unexpected key '%s'", key), -1;
        }
        skip_ws(&c);
        if (c.p < c.end && *c.p == ',') c.p++;
        else if (c.p < c.end && *c.p == '}') continue;
        else return snprintf(msg, msgn, "npy header: malformed dict"), -1;
    }
    skip_ws(&c);
    if (c.p != c.end) return snprintf(msg, msgn, "npy header: junk after the dict"), -1;
    if (!have_descr || !have_fo || !have_shape)
        return snprintf(msg, msgn, "npy header lacks '%s'",
                        !have_descr ? "descr" : !have_fo ? "fortran_order" : "shape"),
               -1;
    return 0;
}
