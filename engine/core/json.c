/* The JSON reader and writer (see json.h): recursive descent with an explicit
 * depth bound, so deeply nested or truncated input ends in an error value. */
#include "core/json.h"
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct jblock {
    struct jblock *next;
    size_t used, cap;
    max_align_t data[];
} jblock;

struct dacc_jdoc {
    jblock *blocks;
    dacc_jv *root;
};

typedef struct parser {
    const char *s, *end, *p;
    dacc_jdoc *doc;
    char *err;
    size_t errn;
    int failed;
} parser;

static void *arena_alloc(dacc_jdoc *d, size_t n) {
    n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
    jblock *b = d->blocks;
    if (!b || b->cap - b->used < n) {
        size_t cap = n > 16384 ? n : 16384;
        b = malloc(sizeof *b + cap);
        if (!b) return NULL;
        b->cap = cap;
        b->used = 0;
        b->next = d->blocks;
        d->blocks = b;
    }
    void *r = (char *)b->data + b->used;
    b->used += n;
    return r;
}

static void perr(parser *P, const char *what) {
    if (P->failed) return;
    P->failed = 1;
    if (!P->err || !P->errn) return;
    int line = 1, col = 1;
    for (const char *q = P->s; q < P->p && q < P->end; q++) {
        if (*q == '\n') { line++; col = 1; } else col++;
    }
    snprintf(P->err, P->errn, "line %d col %d: %s", line, col, what);
}

static void skip_ws(parser *P) {
    while (P->p < P->end && (*P->p == ' ' || *P->p == '\t' || *P->p == '\n' || *P->p == '\r'))
        P->p++;
}

static dacc_jv *new_value(parser *P, int type) {
    dacc_jv *v = arena_alloc(P->doc, sizeof *v);
    if (!v) { perr(P, "out of memory"); return NULL; }
    memset(v, 0, sizeof *v);
    v->type = type;
    return v;
}

static int hexval(int c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

static int read_hex4(parser *P, unsigned *out) {
    if (P->end - P->p < 4) return -1;
    unsigned u = 0;
    for (int i = 0; i < 4; i++) {
        int h = hexval((unsigned char)P->p[i]);
        if (h < 0) return -1;
        u = u * 16 + (unsigned)h;
    }
    P->p += 4;
    *out = u;
    return 0;
}

static size_t put_utf8(char *o, unsigned cp) {
    if (cp < 0x80) { o[0] = (char)cp; return 1; }
    if (cp < 0x800) { o[0] = (char)(0xC0 | (cp >> 6)); o[1] = (char)(0x80 | (cp & 0x3F)); return 2; }
    if (cp < 0x10000) {
        o[0] = (char)(0xE0 | (cp >> 12)); o[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[2] = (char)(0x80 | (cp & 0x3F)); return 3;
    }
    o[0] = (char)(0xF0 | (cp >> 18)); o[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3F)); o[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

/* On entry P->p is at the opening quote. Decoded output is never longer than
 * the escaped input, so one allocation of the raw length suffices. */
static const char *parse_string(parser *P, size_t *len) {
    const char *start = ++P->p;
    const char *q = start;
    while (q < P->end && *q != '"') {
        if (*q == '\\') q++;
        q++;
    }
    if (q >= P->end) { perr(P, "unterminated string"); return NULL; }
    char *out = arena_alloc(P->doc, (size_t)(q - start) + 1);
    if (!out) { perr(P, "out of memory"); return NULL; }
    size_t n = 0;
    while (P->p < q) {
        unsigned char c = (unsigned char)*P->p++;
        if (c < 0x20) { perr(P, "control character in string"); return NULL; }
        if (c != '\\') { out[n++] = (char)c; continue; }
        c = (unsigned char)*P->p++;
        switch (c) {
        case '"': out[n++] = '"'; break;
        case '\\': out[n++] = '\\'; break;
        case '/': out[n++] = '/'; break;
        case 'b': out[n++] = '\b'; break;
        case 'f': out[n++] = '\f'; break;
        case 'n': out[n++] = '\n'; break;
        case 'r': out[n++] = '\r'; break;
        case 't': out[n++] = '\t'; break;
        case 'u': {
            unsigned cp;
            if (read_hex4(P, &cp)) { perr(P, "bad \\u escape"); return NULL; }
            if (cp >= 0xD800 && cp < 0xDC00 && q - P->p >= 6 && P->p[0] == '\\' && P->p[1] == 'u') {
                const char *save = P->p;
                unsigned lo;
                P->p += 2;
                if (!read_hex4(P, &lo) && lo >= 0xDC00 && lo < 0xE000)
                    cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                else
                    P->p = save;
            }
            if (cp >= 0xD800 && cp < 0xE000) cp = 0xFFFD; /* lone surrogate */
            /* "\uXXXX" is 6 input bytes, at most 4 output bytes: fits */
            n += put_utf8(out + n, cp);
            break;
        }
        default: perr(P, "bad escape"); return NULL;
        }
        if (P->p > q) { perr(P, "bad escape at end of string"); return NULL; }
    }
    out[n] = 0;
    P->p = q + 1;
    *len = n;
    return out;
}

static int parse_number(parser *P, double *out) {
    const char *q = P->p;
    if (q < P->end && *q == '-') q++;
    if (q >= P->end || *q < '0' || *q > '9') return -1;
    while (q < P->end && *q >= '0' && *q <= '9') q++;
    if (q < P->end && *q == '.') {
        q++;
        if (q >= P->end || *q < '0' || *q > '9') return -1;
        while (q < P->end && *q >= '0' && *q <= '9') q++;
    }
    if (q < P->end && (*q == 'e' || *q == 'E')) {
        q++;
        if (q < P->end && (*q == '+' || *q == '-')) q++;
        if (q >= P->end || *q < '0' || *q > '9') return -1;
        while (q < P->end && *q >= '0' && *q <= '9') q++;
    }
    /* strtod needs a terminated copy */
    char buf[128], *tmp = buf;
    size_t n = (size_t)(q - P->p);
    if (n >= sizeof buf && !(tmp = malloc(n + 1))) return -1;
    memcpy(tmp, P->p, n);
    tmp[n] = 0;
    *out = strtod(tmp, NULL);
    if (tmp != buf) free(tmp);
    P->p = q;
    return 0;
}

static dacc_jv *parse_value(parser *P, int depth);

static dacc_jv *parse_container(parser *P, int depth, int obj) {
    dacc_jv *v = new_value(P, obj ? DACC_J_OBJ : DACC_J_ARR);
    if (!v) return NULL;
    if (depth >= DACC_J_MAX_DEPTH) { perr(P, "nesting too deep"); return NULL; }
    P->p++;
    skip_ws(P);
    dacc_jv **tail = &v->child;
    if (P->p < P->end && *P->p == (obj ? '}' : ']')) { P->p++; return v; }
    for (;;) {
        const char *key = NULL;
        skip_ws(P);
        if (obj) {
            size_t kl;
            if (P->p >= P->end || *P->p != '"') { perr(P, "expected a key"); return NULL; }
            if (!(key = parse_string(P, &kl))) return NULL;
            skip_ws(P);
            if (P->p >= P->end || *P->p != ':') { perr(P, "expected ':'"); return NULL; }
            P->p++;
        }
        dacc_jv *c = parse_value(P, depth + 1);
        if (!c) return NULL;
        c->key = key;
        *tail = c;
        tail = &c->next;
        v->len++;
        skip_ws(P);
        if (P->p >= P->end) { perr(P, "unexpected end"); return NULL; }
        if (*P->p == ',') { P->p++; continue; }
        if (*P->p == (obj ? '}' : ']')) { P->p++; return v; }
        perr(P, obj ? "expected ',' or '}'" : "expected ',' or ']'");
        return NULL;
    }
}

static int match_word(parser *P, const char *w) {
    size_t n = strlen(w);
    if ((size_t)(P->end - P->p) < n || memcmp(P->p, w, n)) return 0;
    P->p += n;
    return 1;
}

static dacc_jv *parse_value(parser *P, int depth) {
    skip_ws(P);
    if (P->p >= P->end) { perr(P, "unexpected end"); return NULL; }
    char c = *P->p;
    if (c == '{' || c == '[') return parse_container(P, depth, c == '{');
    if (c == '"') {
        dacc_jv *v = new_value(P, DACC_J_STR);
        if (!v || !(v->str = parse_string(P, &v->len))) return NULL;
        return v;
    }
    if (match_word(P, "true")) return new_value(P, DACC_J_TRUE);
    if (match_word(P, "false")) return new_value(P, DACC_J_FALSE);
    if (match_word(P, "null")) return new_value(P, DACC_J_NULL);
    double d;
    if (parse_number(P, &d) == 0) {
        dacc_jv *v = new_value(P, DACC_J_NUM);
        if (v) v->num = d;
        return v;
    }
    perr(P, "unexpected character");
    return NULL;
}

dacc_jdoc *dacc_json_parse(const char *s, size_t n, char *err, size_t errn) {
    if (err && errn) err[0] = 0;
    if (!s || n > DACC_J_MAX_INPUT) {
        if (err && errn) snprintf(err, errn, "input too large or missing");
        return NULL;
    }
    dacc_jdoc *d = calloc(1, sizeof *d);
    if (!d) {
        if (err && errn) snprintf(err, errn, "out of memory");
        return NULL;
    }
    parser P = {s, s + n, s, d, err, errn, 0};
    if (P.p + 3 <= P.end && !memcmp(P.p, "\xEF\xBB\xBF", 3)) P.p += 3; /* BOM */
    d->root = parse_value(&P, 0);
    if (d->root) {
        skip_ws(&P);
        if (P.p < P.end) perr(&P, "trailing characters");
    }
    if (P.failed || !d->root) {
        dacc_json_free(d);
        return NULL;
    }
    return d;
}

const dacc_jv *dacc_json_root(const dacc_jdoc *d) { return d ? d->root : NULL; }

void dacc_json_free(dacc_jdoc *d) {
    if (!d) return;
    for (jblock *b = d->blocks, *nb; b; b = nb) {
        nb = b->next;
        free(b);
    }
    free(d);
}

const dacc_jv *dacc_json_get(const dacc_jv *obj, const char *key) {
    if (!obj || obj->type != DACC_J_OBJ || !key) return NULL;
    for (const dacc_jv *c = obj->child; c; c = c->next)
        if (c->key && !strcmp(c->key, key)) return c;
    return NULL;
}

const dacc_jv *dacc_json_at(const dacc_jv *arr, size_t i) {
    if (!arr || (arr->type != DACC_J_ARR && arr->type != DACC_J_OBJ)) return NULL;
    const dacc_jv *c = arr->child;
    while (c && i--) c = c->next;
    return c;
}

size_t dacc_json_len(const dacc_jv *v) {
    return v && (v->type == DACC_J_ARR || v->type == DACC_J_OBJ) ? v->len : 0;
}

double dacc_json_num(const dacc_jv *v, double def) {
    return v && v->type == DACC_J_NUM ? v->num : def;
}

long dacc_json_int(const dacc_jv *v, long def, long lo, long hi) {
    if (!v || v->type != DACC_J_NUM || isnan(v->num)) return def;
    double d = v->num;
    if (d <= (double)lo) return lo;
    if (d >= (double)hi) return hi;
    return (long)d;
}

const char *dacc_json_str(const dacc_jv *v, const char *def) {
    return v && v->type == DACC_J_STR ? v->str : def;
}

int dacc_json_isnum(const dacc_jv *v, double *out) {
    if (!v || v->type != DACC_J_NUM) return 0;
    *out = v->num;
    return 1;
}

void dacc_json_put_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

void dacc_json_put_num(FILE *f, double v, const char *fmt) {
    if (isnan(v) || isinf(v)) fputs("null", f);
    else fprintf(f, fmt, v);
}
