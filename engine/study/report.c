/* dacc report (see include/dacc/report.h): gather finished tasks from any set
 * of run directories / task folders, merge duplicates, compute the statistics
 * of dacc/stats.h and write results.csv, summary.csv, summary.json and
 * summary.md, each atomically. Reads only the files of docs/RUNDIR.md. */
#include "dacc/report.h"
#include "dacc/checkpoint.h"
#include "dacc/stats.h"
#include "study/figures.h"
#include "study/json.h"
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <zlib.h>

#define MAXB 80                 /* transformed blocks a task may have */
#define MAX_JSON (16u << 20)    /* results/config/study.json are small */
#define MAX_PRED ((size_t)1 << 32)

/* ------------------------------------------------------------------------
 * A small JSON reader (a tree of values) for results.json, config.json and
 * study.json. Strict enough to reject a truncated file, which is the point:
 * a half-written results.json must be skipped, not half-read. */

typedef struct jparser {
    const char *s, *p, *end;
    const char *err;
    int depth;
} jparser;

void jv_free(jv *v) {
    if (!v) return;
    free(v->str);
    for (int i = 0; i < v->n; i++) {
        jv_free(&v->items[i]);
        if (v->keys) free(v->keys[i]);
    }
    free(v->items);
    free(v->keys);
    memset(v, 0, sizeof *v);
}

static void jskip(jparser *j) {
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) j->p++;
}

static int jfail(jparser *j, const char *what) {
    if (!j->err) j->err = what;
    return -1;
}

static void put_utf8(char *o, size_t *k, unsigned cp) {
    if (cp < 0x80) {
        o[(*k)++] = (char)cp;
    } else if (cp < 0x800) {
        o[(*k)++] = (char)(0xC0 | (cp >> 6));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    } else {
        o[(*k)++] = (char)(0xE0 | (cp >> 12));
        o[(*k)++] = (char)(0x80 | ((cp >> 6) & 0x3F));
        o[(*k)++] = (char)(0x80 | (cp & 0x3F));
    }
}

static int jstring(jparser *j, char **out) {
    if (j->p >= j->end || *j->p != '"') return jfail(j, "expected a string");
    const char *q = ++j->p;
    while (q < j->end && *q != '"') q += (*q == '\\') ? 2 : 1;
    if (q >= j->end) return jfail(j, "unterminated string");
    char *o = malloc((size_t)(q - j->p) + 1); /* escapes only shrink */
    if (!o) return jfail(j, "out of memory");
    size_t k = 0;
    while (j->p < q) {
        char c = *j->p++;
        if (c != '\\') {
            o[k++] = c;
            continue;
        }
        c = *j->p++;
        switch (c) {
        case '"': case '\\': case '/': o[k++] = c; break;
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u': {
            unsigned cp = 0;
            for (int i = 0; i < 4; i++) {
                char h = j->p < q ? *j->p++ : 0;
                int d = h >= '0' && h <= '9' ? h - '0' : h >= 'a' && h <= 'f' ? h - 'a' + 10
                      : h >= 'A' && h <= 'F' ? h - 'A' + 10 : -1;
                if (d < 0) {
                    free(o);
                    return jfail(j, "bad \\u escape");
                }
                cp = cp * 16 + (unsigned)d;
            }
            put_utf8(o, &k, cp >= 0xD800 && cp < 0xE000 ? '?' : cp); /* 6 bytes in, <= 3 out */
            break;
        }
        default:
            free(o);
            return jfail(j, "bad escape");
        }
    }
    o[k] = 0;
    j->p = q + 1;
    *out = o;
    return 0;
}

static int jvalue(jparser *j, jv *v);

static int jpush(jparser *j, jv *v, char *key) {
    if (v->n == v->cap) {
        int cap = v->cap ? v->cap * 2 : 8;
        jv *it = realloc(v->items, sizeof *it * (size_t)cap);
        if (!it) return jfail(j, "out of memory");
        v->items = it;
        if (v->type == J_OBJ) {
            char **ks = realloc(v->keys, sizeof *ks * (size_t)cap);
            if (!ks) return jfail(j, "out of memory");
            v->keys = ks;
        }
        v->cap = cap;
    }
    memset(&v->items[v->n], 0, sizeof v->items[0]);
    if (v->type == J_OBJ) v->keys[v->n] = key;
    v->n++;
    return 0;
}

static int jvalue(jparser *j, jv *v) {
    memset(v, 0, sizeof *v);
    jskip(j);
    if (j->p >= j->end) return jfail(j, "unexpected end (truncated?)");
    if (++j->depth > 64) return jfail(j, "nested too deeply");
    int rc = 0;
    char c = *j->p;
    if (c == '{' || c == '[') {
        v->type = c == '{' ? J_OBJ : J_ARR;
        char close = c == '{' ? '}' : ']';
        j->p++;
        jskip(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
        } else {
            for (;;) {
                char *key = NULL;
                jskip(j);
                if (v->type == J_OBJ) {
                    if (jstring(j, &key)) { rc = -1; break; }
                    jskip(j);
                    if (j->p >= j->end || *j->p != ':') { free(key); rc = jfail(j, "expected ':'"); break; }
                    j->p++;
                }
                if (jpush(j, v, key)) { free(key); rc = -1; break; }
                if (jvalue(j, &v->items[v->n - 1])) { rc = -1; break; }
                jskip(j);
                if (j->p >= j->end) { rc = jfail(j, "unexpected end (truncated?)"); break; }
                if (*j->p == ',') { j->p++; continue; }
                if (*j->p == close) { j->p++; break; }
                rc = jfail(j, "expected ',' or a closing bracket");
                break;
            }
        }
    } else if (c == '"') {
        v->type = J_STR;
        rc = jstring(j, &v->str);
    } else if (c == '-' || (c >= '0' && c <= '9')) {
        char buf[64];
        size_t k = 0;
        while (j->p + k < j->end && k < sizeof buf - 1 && strchr("+-0123456789.eE", j->p[k])) {
            buf[k] = j->p[k];
            k++;
        }
        buf[k] = 0;
        char *end;
        v->type = J_NUM;
        v->num = strtod(buf, &end);
        if (end == buf || *end) rc = jfail(j, "bad number");
        j->p += k;
    } else if (j->end - j->p >= 4 && !strncmp(j->p, "true", 4)) {
        v->type = J_BOOL, v->num = 1, j->p += 4;
    } else if (j->end - j->p >= 5 && !strncmp(j->p, "false", 5)) {
        v->type = J_BOOL, v->num = 0, j->p += 5;
    } else if (j->end - j->p >= 4 && !strncmp(j->p, "null", 4)) {
        v->type = J_NULL, j->p += 4;
    } else {
        rc = jfail(j, "unexpected character");
    }
    j->depth--;
    return rc;
}

/* Parses a whole document; trailing bytes other than whitespace are an error. */
int json_parse(const char *s, size_t n, jv *out, char *err, size_t errn) {
    jparser j = {s, s, s + n, NULL, 0};
    if (jvalue(&j, out) == 0) {
        jskip(&j);
        if (j.p == j.end) return 0;
        jfail(&j, "trailing bytes");
    }
    snprintf(err, errn, "%s at byte %ld of %zu", j.err ? j.err : "malformed", (long)(j.p - s), n);
    jv_free(out);
    return -1;
}

const jv *jget(const jv *o, const char *key) {
    if (!o || o->type != J_OBJ) return NULL;
    for (int i = 0; i < o->n; i++)
        if (!strcmp(o->keys[i], key)) return &o->items[i];
    return NULL;
}

int jnum(const jv *v, double *out) {
    if (!v || v->type != J_NUM) return 0;
    *out = v->num;
    return 1;
}

/* ------------------------------------------------------------------------
 * Files */

static int read_all(const char *path, size_t max, char **out, size_t *n, dacc_err *e) {
    FILE *f = fopen(path, "rb");
    if (!f) return dacc_fail(e, "%s: cannot open: %s", path, strerror(errno));
    size_t cap = 1 << 16, len = 0;
    char *b = malloc(cap + 1);
    while (b) {
        if (len == cap) {
            if (cap >= max) {
                free(b);
                fclose(f);
                return dacc_fail(e, "%s: larger than %zu bytes", path, max);
            }
            cap *= 2;
            char *nb = realloc(b, cap + 1);
            if (!nb) break;
            b = nb;
        }
        size_t r = fread(b + len, 1, cap - len, f);
        len += r;
        if (r == 0) break;
    }
    int bad = ferror(f);
    fclose(f);
    if (!b) return dacc_fail(e, "%s: out of memory", path);
    if (bad) {
        free(b);
        return dacc_fail(e, "%s: read error", path);
    }
    b[len] = 0;
    *out = b;
    *n = len;
    return 0;
}

int read_json(const char *path, jv *out, dacc_err *e) {
    char *b;
    size_t n;
    if (read_all(path, MAX_JSON, &b, &n, e)) return -1;
    char err[256];
    int rc = json_parse(b, n, out, err, sizeof err);
    free(b);
    if (rc) return dacc_fail(e, "%s: %s", path, n ? err : "empty file");
    return 0;
}

static int is_dir(const char *p) {
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static int exists(const char *p) {
    struct stat st;
    return stat(p, &st) == 0;
}

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void dacc_pred_free(dacc_pred *p) {
    if (!p) return;
    free(p->pred);
    free(p->label);
    memset(p, 0, sizeof *p);
}

int dacc_pred_read(const char *path, dacc_pred *p, dacc_err *e) {
    memset(p, 0, sizeof *p);
    char *raw;
    size_t size;
    if (read_all(path, MAX_PRED, &raw, &size, e)) return -1;
    const uint8_t *b = (const uint8_t *)raw;
    int rc = 0;
    if (size < 24 || memcmp(b, "DACCPRED", 8)) {
        rc = dacc_fail(e, "%s: not a predictions file (no DACCPRED header)", path);
    } else if (rd32(b + 8) != 1) {
        rc = dacc_fail(e, "%s: version %u (this dacc reads 1)", path, rd32(b + 8));
    } else {
        uint64_t blocks = rd32(b + 12), n = rd32(b + 16);
        uint64_t want = 20 + blocks * n * 2 + 4;
        if (blocks < 1 || blocks > MAXB + 1 || n < 1) {
            rc = dacc_fail(e, "%s: implausible header (%llu blocks of %llu images)", path,
                           (unsigned long long)blocks, (unsigned long long)n);
        } else if (want != size) {
            rc = dacc_fail(e, "%s: %zu bytes, the header implies %llu (truncated?)", path, size,
                           (unsigned long long)want);
        } else if ((uint32_t)crc32(0L, b, (uInt)(size - 4)) != rd32(b + size - 4)) {
            rc = dacc_fail(e, "%s: CRC mismatch (corrupt file)", path);
        } else {
            p->blocks = (int)blocks;
            p->n = (int64_t)n;
            p->pred = malloc(blocks * n);
            p->label = malloc(n);
            if (!p->pred || !p->label) rc = dacc_fail(e, "%s: out of memory", path);
            const uint8_t *q = b + 20;
            for (uint64_t k = 0; rc == 0 && k < blocks; k++)
                for (uint64_t i = 0; i < n; i++, q += 2) {
                    if (q[0] > 9 || q[1] > 9) {
                        rc = dacc_fail(e, "%s: class out of range in block %llu", path, (unsigned long long)k);
                        break;
                    }
                    if (k == 0) p->label[i] = q[1];
                    else if (p->label[i] != q[1]) {
                        rc = dacc_fail(e, "%s: labels of block %llu differ from the clean block", path,
                                       (unsigned long long)k);
                        break;
                    }
                    p->pred[k * n + i] = q[0];
                }
        }
    }
    free(raw);
    if (rc) dacc_pred_free(p);
    return rc;
}

/* ------------------------------------------------------------------------
 * Tasks */

static const char *const proto_name[2] = {"heldout", "paper"};
static const char *const proto_file[2] = {"predictions.bin", "predictions-paper.bin"};
static const char *const proto_title[2] = {
    "held-out protocol: MNIST test images and their AlignMNIST transformations",
    "paper protocol: MNIST training images (as the notebook)",
};

typedef struct proto {
    int present;
    double clean, y[MAXB], xhat, delta;
    int nb;           /* transformed blocks in results.json (0 = clean only) */
    int64_t n;
    int pred_ok;      /* predictions file read, verified and consistent */
    uint8_t *right;   /* bits, [(nb + 1)][n]: prediction right */
    uint32_t label_crc;
    int64_t hist[2 * (MAXB + 1)]; /* [clean right][transformed blocks right] */
} proto;

typedef struct task {
    char id[256];
    char path[4096];
    char variant[64];
    uint64_t seed;
    long index;       /* the "<nn>" of the id, for ordering; large if none */
    char settings[512];
    proto pr[2];
} task;

typedef struct planned {
    char id[256], variant[64], src[4096];
    uint64_t seed;
} planned;

typedef struct strlist {
    char **s;
    int n, cap;
} strlist;

typedef struct rep {
    const dacc_report_options *o;
    task *t;
    int nt, capt;
    planned *pl;
    int npl, cappl;
    strlist skipped, warnings, inputs;
    int duplicates;
} rep;

static void sl_add(strlist *l, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sl_add(strlist *l, const char *fmt, ...) {
    if (l->n == l->cap) {
        int cap = l->cap ? l->cap * 2 : 16;
        char **s = realloc(l->s, sizeof *s * (size_t)cap);
        if (!s) return;
        l->s = s;
        l->cap = cap;
    }
    va_list ap;
    va_start(ap, fmt);
    char *m = NULL;
    if (vasprintf(&m, fmt, ap) >= 0) l->s[l->n++] = m;
    va_end(ap);
}

static void sl_free(strlist *l) {
    for (int i = 0; i < l->n; i++) free(l->s[i]);
    free(l->s);
}

static int bit(const proto *p, int block, int64_t i) {
    size_t k = (size_t)block * (size_t)p->n + (size_t)i;
    return (p->right[k >> 3] >> (k & 7)) & 1;
}

static void task_free(task *t) {
    for (int k = 0; k < 2; k++) free(t->pr[k].right);
}

/* One protocol of results.json; 0 ok (or absent: present = 0), -1 malformed. */
static int parse_protocol(const jv *o, proto *p, char *why, size_t whyn) {
    memset(p, 0, sizeof *p);
    p->xhat = p->delta = NAN;
    if (!o) return 0;
    double n;
    if (o->type != J_OBJ || !jnum(jget(o, "clean"), &p->clean) || !jnum(jget(o, "n"), &n) || n < 1 ||
        n != floor(n) || p->clean < 0 || p->clean > 1) {
        snprintf(why, whyn, "no valid clean accuracy and image count");
        return -1;
    }
    p->n = (int64_t)n;
    const jv *y = jget(o, "y");
    if (y) {
        if (y->type != J_ARR || y->n < 1 || y->n > MAXB) {
            snprintf(why, whyn, "\"y\" is not a list of 1..%d accuracies", MAXB);
            return -1;
        }
        double s = 0;
        for (int b = 0; b < y->n; b++) {
            if (!jnum(&y->items[b], &p->y[b]) || p->y[b] < 0 || p->y[b] > 1) {
                snprintf(why, whyn, "y[%d] is not an accuracy", b + 1);
                return -1;
            }
            s += p->y[b];
        }
        p->nb = y->n;
        /* x^ and delta by eq. 1-2 from the blocks (the file's rounded copies
         * are only checked), so every number in the report has one source */
        p->xhat = s / p->nb;
        p->delta = p->xhat - p->clean;
        double fx;
        if (jnum(jget(o, "xhat"), &fx) && fabs(fx - p->xhat) > 1e-5) {
            snprintf(why, whyn, "xhat %.6f is not the mean of y (%.6f)", fx, p->xhat);
            return -1;
        }
    }
    p->present = 1;
    return 0;
}

/* Reads the predictions of one protocol into bits and the histogram; on
 * any problem leaves pred_ok = 0 and says why. */
static void load_predictions(rep *r, task *t, int k) {
    proto *p = &t->pr[k];
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", t->path, proto_file[k]);
    dacc_pred d;
    dacc_err e;
    if (!exists(path)) {
        sl_add(&r->warnings, "%s: %s missing: McNemar and per-image intervals n/a for its %s protocol", t->id,
               proto_file[k], proto_name[k]);
        return;
    }
    if (dacc_pred_read(path, &d, &e)) {
        sl_add(&r->warnings, "%s: McNemar and per-image intervals n/a (%s)", t->id, e.msg);
        return;
    }
    int ok = d.n == p->n && d.blocks == p->nb + 1;
    if (!ok) {
        sl_add(&r->warnings, "%s: %s has %d blocks of %lld images, results.json %d of %lld: McNemar n/a",
               t->id, proto_file[k], d.blocks, (long long)d.n, p->nb + 1, (long long)p->n);
        dacc_pred_free(&d);
        return;
    }
    size_t bits = (size_t)d.blocks * (size_t)d.n;
    p->right = calloc((bits + 7) / 8, 1);
    if (!p->right) {
        dacc_pred_free(&d);
        sl_add(&r->warnings, "%s: out of memory for %s", t->id, proto_file[k]);
        return;
    }
    int64_t right_blk[MAXB + 1] = {0};
    for (int b = 0; b < d.blocks; b++)
        for (int64_t i = 0; i < d.n; i++) {
            size_t q = (size_t)b * (size_t)d.n + (size_t)i;
            int ri = d.pred[q] == d.label[i];
            p->right[q >> 3] |= (uint8_t)(ri << (q & 7));
            right_blk[b] += ri;
        }
    memset(p->hist, 0, sizeof p->hist);
    if (p->nb > 0)
        for (int64_t i = 0; i < d.n; i++) {
            int m = 0;
            for (int b = 1; b <= p->nb; b++) m += bit(p, b, i);
            p->hist[bit(p, 0, i) * (p->nb + 1) + m]++;
        }
    p->label_crc = (uint32_t)crc32(0L, d.label, (uInt)d.n);
    /* the file must tell the same story as results.json */
    for (int b = 0; b <= p->nb; b++) {
        double acc = (double)right_blk[b] / (double)d.n, want = b ? p->y[b - 1] : p->clean;
        if (fabs(acc - want) > 1e-5) {
            sl_add(&r->warnings, "%s: %s block %d accuracy %.6f but results.json says %.6f: McNemar n/a",
                   t->id, proto_file[k], b, acc, want);
            free(p->right);
            p->right = NULL;
            dacc_pred_free(&d);
            return;
        }
    }
    p->pred_ok = 1;
    dacc_pred_free(&d);
}

static void add_skip(rep *r, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void add_skip(rep *r, const char *path, const char *fmt, ...) {
    char why[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    sl_add(&r->skipped, "%s: %s", path, why);
}

static const char *base_name(const char *path) {
    size_t n = strlen(path);
    while (n > 1 && path[n - 1] == '/') n--;
    const char *s = path + n;
    while (s > path && s[-1] != '/') s--;
    return s;
}

/* The settings a merged set must share (config.json), as one string. */
static void read_settings(const char *dir, char *out, size_t n) {
    char path[4400];
    snprintf(path, sizeof path, "%s/config.json", dir);
    out[0] = 0;
    jv c;
    dacc_err e;
    if (!exists(path) || read_json(path, &c, &e)) return;
    static const char *const keys[] = {"epochs", "batch", "lr", "gamma", "protocol", "train_limit", "blocks"};
    size_t k = 0;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0] && k < n; i++) {
        const jv *v = jget(&c, keys[i]);
        if (!v) continue;
        if (v->type == J_NUM) k += (size_t)snprintf(out + k, n - k, "%s%s=%g", k ? "," : "", keys[i], v->num);
        else if (v->type == J_STR) k += (size_t)snprintf(out + k, n - k, "%s%s=%s", k ? "," : "", keys[i], v->str);
    }
    jv_free(&c);
}

static int results_agree(const task *a, const task *b) {
    for (int k = 0; k < 2; k++) {
        const proto *p = &a->pr[k], *q = &b->pr[k];
        if (p->present != q->present) return 0;
        if (!p->present) continue;
        if (p->n != q->n || p->nb != q->nb || fabs(p->clean - q->clean) > 1e-9) return 0;
        for (int i = 0; i < p->nb; i++)
            if (fabs(p->y[i] - q->y[i]) > 1e-9) return 0;
        if (p->pred_ok && q->pred_ok && p->label_crc != q->label_crc) return 0;
    }
    return 1;
}

static int usable_preds(const task *t) { return t->pr[0].pred_ok + t->pr[1].pred_ok; }

/* One task folder: skipped with a reason, or added (merging duplicates). */
static void read_task(rep *r, const char *dir) {
    char path[4400];
    task t;
    memset(&t, 0, sizeof t);
    snprintf(t.path, sizeof t.path, "%s", dir);
    snprintf(t.id, sizeof t.id, "%s", base_name(dir));
    snprintf(path, sizeof path, "%s/DONE", dir);
    if (!exists(path)) {
        add_skip(r, dir, "no DONE marker (not finished, still running, or failed)");
        return;
    }
    snprintf(path, sizeof path, "%s/results.json", dir);
    jv res;
    dacc_err e;
    if (!exists(path)) {
        add_skip(r, dir, "DONE but no results.json");
        return;
    }
    if (read_json(path, &res, &e)) {
        add_skip(r, dir, "unreadable results.json (%s)", e.msg);
        return;
    }
    const jv *var = jget(&res, "variant");
    double seed;
    char why[256] = "";
    int bad = 0;
    if (!var || var->type != J_STR || !var->str[0] || strlen(var->str) >= sizeof t.variant) {
        snprintf(why, sizeof why, "results.json has no variant name");
        bad = 1;
    } else if (!jnum(jget(&res, "seed"), &seed) || seed < 0 || seed != floor(seed) || seed > 1.8e19) {
        snprintf(why, sizeof why, "results.json has no valid seed");
        bad = 1;
    }
    const char *where = "";
    for (int k = 0; k < 2 && !bad; k++)
        if (parse_protocol(jget(&res, proto_name[k]), &t.pr[k], why, sizeof why)) {
            where = proto_name[k];
            bad = 1;
        }
    if (!bad && !t.pr[0].present && !t.pr[1].present) {
        snprintf(why, sizeof why, "results.json has neither heldout nor paper results");
        bad = 1;
    }
    if (bad) {
        jv_free(&res);
        add_skip(r, dir, "results.json: %s%s%s", where, *where ? ": " : "", why);
        return;
    }
    snprintf(t.variant, sizeof t.variant, "%s", var->str);
    t.seed = (uint64_t)seed;
    jv_free(&res);
    char *end;
    t.index = strtol(t.id, &end, 10);
    if (end == t.id || *end != '-') t.index = 1L << 30;
    read_settings(dir, t.settings, sizeof t.settings);
    for (int k = 0; k < 2; k++)
        if (t.pr[k].present && (r->o->protocols & (1 << k))) load_predictions(r, &t, k);

    for (int i = 0; i < r->nt; i++) {
        task *u = &r->t[i];
        if (strcmp(u->variant, t.variant) || u->seed != t.seed) continue;
        r->duplicates++;
        if (!results_agree(u, &t)) {
            sl_add(&r->warnings, "%s and %s: the same variant %s and seed %llu with different results; kept %s",
                   u->path, t.path, t.variant, (unsigned long long)t.seed, u->path);
        } else if (r->o->log) {
            fprintf(r->o->log, "note: %s duplicates %s (same results)\n", t.path, u->path);
        }
        if (results_agree(u, &t) && usable_preds(&t) > usable_preds(u)) { /* keep the better copy */
            task_free(u);
            *u = t;
        } else {
            task_free(&t);
        }
        return;
    }
    if (r->nt == r->capt) {
        int cap = r->capt ? r->capt * 2 : 16;
        task *n = realloc(r->t, sizeof *n * (size_t)cap);
        if (!n) {
            task_free(&t);
            add_skip(r, dir, "out of memory");
            return;
        }
        r->t = n;
        r->capt = cap;
    }
    r->t[r->nt++] = t;
}

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

/* study.json: the planned tasks, so that tasks never started are listed. */
static void read_plan(rep *r, const char *dir) {
    char path[4400];
    snprintf(path, sizeof path, "%s/study.json", dir);
    if (!exists(path)) return;
    jv s;
    dacc_err e;
    if (read_json(path, &s, &e)) {
        sl_add(&r->warnings, "%s (ignored)", e.msg);
        return;
    }
    const jv *ts = jget(&s, "tasks");
    for (int i = 0; ts && ts->type == J_ARR && i < ts->n; i++) {
        const jv *id = jget(&ts->items[i], "id"), *v = jget(&ts->items[i], "variant");
        double seed;
        if (!id || id->type != J_STR || !v || v->type != J_STR || !jnum(jget(&ts->items[i], "seed"), &seed))
            continue;
        if (r->npl == r->cappl) {
            int cap = r->cappl ? r->cappl * 2 : 16;
            planned *n = realloc(r->pl, sizeof *n * (size_t)cap);
            if (!n) break;
            r->pl = n;
            r->cappl = cap;
        }
        planned *p = &r->pl[r->npl++];
        snprintf(p->id, sizeof p->id, "%s", id->str);
        snprintf(p->variant, sizeof p->variant, "%s", v->str);
        snprintf(p->src, sizeof p->src, "%s", dir);
        p->seed = (uint64_t)seed;
    }
    jv_free(&s);
}

static int read_input(rep *r, const char *dir, dacc_err *e) {
    char path[4400];
    if (!is_dir(dir)) return dacc_fail(e, "%s: no such directory", dir);
    snprintf(path, sizeof path, "%s/tasks", dir);
    if (is_dir(path)) {
        read_plan(r, dir);
        DIR *d = opendir(path);
        if (!d) return dacc_fail(e, "%s: cannot list: %s", path, strerror(errno));
        strlist names = {0};
        for (struct dirent *de; (de = readdir(d));)
            if (de->d_name[0] != '.') sl_add(&names, "%s/%s", path, de->d_name);
        closedir(d);
        qsort(names.s, (size_t)names.n, sizeof *names.s, cmp_name); /* a fixed order */
        for (int i = 0; i < names.n; i++)
            if (is_dir(names.s[i])) read_task(r, names.s[i]);
        sl_free(&names);
        return 0;
    }
    static const char *const marks[] = {"results.json", "DONE", "config.json", "metrics.jsonl"};
    for (size_t i = 0; i < sizeof marks / sizeof marks[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, marks[i]);
        if (exists(path)) {
            read_task(r, dir);
            return 0;
        }
    }
    snprintf(path, sizeof path, "%s/study.json", dir);
    if (exists(path)) { /* a run that has not created a task yet */
        read_plan(r, dir);
        return 0;
    }
    return dacc_fail(e, "%s: neither a run directory (no tasks/) nor a task folder", dir);
}

/* ------------------------------------------------------------------------
 * Aggregation */

typedef struct mcn {
    int ok, pairs;      /* seed pairs pooled */
    dacc_mcnemar t;
    int nb;
    int64_t bb[MAXB], cb[MAXB]; /* per transformed block */
} mcn;

typedef struct vrow {
    char variant[64];
    int n, nx;
    uint64_t *seeds;
    dacc_mean_ci clean, xhat, delta;
    double relrob, err_clean, err_xhat, rel_derr;
    int is_ref, have_ref;
    mcn mc_clean, mc_trans;
    /* one seed: the interval over the images */
    dacc_interval one_clean, one_xhat, one_delta;
    int64_t n_images;
    int nb;
} vrow;

static const task *find_task(const rep *r, const char *variant, uint64_t seed, int k) {
    for (int i = 0; i < r->nt; i++)
        if (!strcmp(r->t[i].variant, variant) && r->t[i].seed == seed && r->t[i].pr[k].present) return &r->t[i];
    return NULL;
}

/* b = Original right & variant wrong, c = the reverse, over given blocks. */
static int pair_counts(const proto *o, const proto *v, int b0, int b1, int64_t *bb, int64_t *cc) {
    if (!o->pred_ok || !v->pred_ok || o->n != v->n || o->label_crc != v->label_crc) return 0;
    if (b1 > o->nb || b1 > v->nb) return 0;
    for (int b = b0; b <= b1; b++) {
        int64_t x = 0, y = 0;
        for (int64_t i = 0; i < o->n; i++) {
            int ro = bit(o, b, i), rv = bit(v, b, i);
            x += ro && !rv;
            y += !ro && rv;
        }
        bb[b - b0] = x;
        cc[b - b0] = y;
    }
    return 1;
}

static const char *ref_name(const rep *r) {
    for (int i = 0; i < r->nt; i++)
        if (!strcasecmp(r->t[i].variant, "Original")) return r->t[i].variant;
    return NULL;
}

/* Wilson interval of an accuracy given as a fraction of n images. */
static dacc_interval wilson_acc(double acc, int64_t n) {
    if (isnan(acc)) return (dacc_interval){NAN, NAN, 0};
    return dacc_wilson((int64_t)llround(acc * (double)n), n);
}

/* The variants in report order: Original first, then by their first task
 * index (the study's order), then by name. */
static int variant_order(const rep *r, char (*names)[64], int max) {
    int n = 0;
    long *first = calloc((size_t)max + 1, sizeof *first);
    if (!first) return 0;
    for (int i = 0; i < r->nt && n < max; i++) {
        int j = 0;
        while (j < n && strcmp(names[j], r->t[i].variant)) j++;
        if (j == n) {
            snprintf(names[n], 64, "%s", r->t[i].variant);
            first[n++] = r->t[i].index;
        } else if (r->t[i].index < first[j]) {
            first[j] = r->t[i].index;
        }
    }
    for (int i = 1; i < n; i++) /* insertion sort: few variants */
        for (int j = i; j > 0; j--) {
            int ro_j = !strcasecmp(names[j], "Original"), ro_p = !strcasecmp(names[j - 1], "Original");
            int swap = ro_j > ro_p ||
                       (ro_j == ro_p && (first[j] < first[j - 1] ||
                                         (first[j] == first[j - 1] && strcmp(names[j], names[j - 1]) < 0)));
            if (!swap) break;
            char tmp[64];
            long tf = first[j];
            memcpy(tmp, names[j], 64);
            memcpy(names[j], names[j - 1], 64);
            memcpy(names[j - 1], tmp, 64);
            first[j] = first[j - 1];
            first[j - 1] = tf;
        }
    free(first);
    return n;
}

static void clip(dacc_interval *i, double lo, double hi) {
    if (!i->ok) return;
    if (i->lo < lo) i->lo = lo;
    if (i->hi > hi) i->hi = hi;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void summarize(rep *r, int k, const char *variant, vrow *row) {
    memset(row, 0, sizeof *row);
    snprintf(row->variant, sizeof row->variant, "%s", variant);
    row->seeds = calloc((size_t)r->nt + 1, sizeof *row->seeds);
    double *c = calloc((size_t)r->nt + 1, sizeof *c), *x = calloc((size_t)r->nt + 1, sizeof *x),
           *d = calloc((size_t)r->nt + 1, sizeof *d);
    if (!row->seeds || !c || !x || !d) {
        free(c); free(x); free(d);
        return;
    }
    for (int i = 0; i < r->nt; i++) {
        const task *t = &r->t[i];
        if (strcmp(t->variant, variant) || !t->pr[k].present) continue;
        row->seeds[row->n++] = t->seed;
    }
    qsort(row->seeds, (size_t)row->n, sizeof *row->seeds, cmp_u64);
    int nb = -1;
    for (int s = 0; s < row->n; s++) {
        const proto *p = &find_task(r, variant, row->seeds[s], k)->pr[k];
        c[s] = p->clean;
        if (p->nb > 0) {
            x[row->nx] = p->xhat;
            d[row->nx++] = p->delta;
        }
        if (nb < 0) nb = p->nb;
        else if (nb != p->nb) nb = -2;
        row->n_images = p->n;
    }
    if (nb == -2)
        sl_add(&r->warnings, "%s/%s: seeds have different numbers of transformed blocks", proto_name[k], variant);
    if (row->nx && row->nx != row->n)
        sl_add(&r->warnings, "%s/%s: only %d of %d seeds have transformed accuracies", proto_name[k], variant,
               row->nx, row->n);
    row->nb = nb > 0 ? nb : 0;
    row->clean = dacc_mean_ci_of(c, row->n);
    row->xhat = dacc_mean_ci_of(x, row->nx);
    row->delta = dacc_mean_ci_of(d, row->nx);
    /* few seeds give wide t-intervals: clip them to the possible range */
    clip(&row->clean.ci, 0, 1);
    clip(&row->xhat.ci, 0, 1);
    clip(&row->delta.ci, -1, 1);
    row->relrob = dacc_rel_robustness(row->clean.mean, row->xhat.mean);
    row->err_clean = row->err_xhat = row->rel_derr = NAN;
    row->one_clean = row->one_xhat = row->one_delta = (dacc_interval){NAN, NAN, 0};
    if (row->n == 1) {
        const proto *p = &find_task(r, variant, row->seeds[0], k)->pr[k];
        row->one_clean = wilson_acc(p->clean, p->n);
        if (p->pred_ok && p->nb > 0) {
            row->one_xhat = dacc_xhat_interval(p->hist, p->nb).ci;
            row->one_delta = dacc_paired_delta(p->hist, p->nb).ci;
        }
    }
    free(c); free(x); free(d);
}

/* The comparisons against Original's row (ref may be row itself). */
static void compare_ref(rep *r, int k, vrow *row, const vrow *ref) {
    const char *variant = row->variant;
    row->have_ref = 1;
    row->is_ref = ref == row;
    row->err_clean = dacc_error_ratio(row->clean.mean, ref->clean.mean);
    if (row->nx && ref->nx) {
        row->err_xhat = dacc_error_ratio(row->xhat.mean, ref->xhat.mean);
        row->rel_derr = dacc_rel_delta_error(row->clean.mean, row->xhat.mean, ref->clean.mean, ref->xhat.mean);
    }
    if (row->is_ref) return;
    /* McNemar, pooled over the seeds both have (and over the blocks) */
    int64_t bc = 0, cc = 0, bt = 0, ct = 0;
    row->mc_trans.nb = row->nb;
    for (int s = 0; s < row->n; s++) {
        const task *tv = find_task(r, variant, row->seeds[s], k), *to = find_task(r, ref->variant, row->seeds[s], k);
        if (!to) continue;
        int64_t b1[MAXB + 1], c1[MAXB + 1];
        if (!pair_counts(&to->pr[k], &tv->pr[k], 0, 0, b1, c1)) {
            if (to->pr[k].pred_ok && tv->pr[k].pred_ok)
                sl_add(&r->warnings, "%s vs %s (%s): different images (labels or counts differ): not paired",
                       tv->id, to->id, proto_name[k]);
            continue;
        }
        bc += b1[0];
        cc += c1[0];
        row->mc_clean.pairs++;
        if (row->nb > 0 && tv->pr[k].nb == row->nb && pair_counts(&to->pr[k], &tv->pr[k], 1, row->nb, b1, c1)) {
            for (int b = 0; b < row->nb; b++) {
                row->mc_trans.bb[b] += b1[b];
                row->mc_trans.cb[b] += c1[b];
                bt += b1[b];
                ct += c1[b];
            }
            row->mc_trans.pairs++;
        }
    }
    if (row->mc_clean.pairs) {
        row->mc_clean.ok = 1;
        row->mc_clean.t = dacc_mcnemar_test(bc, cc);
    }
    if (row->mc_trans.pairs) {
        row->mc_trans.ok = 1;
        row->mc_trans.t = dacc_mcnemar_test(bt, ct);
    }
}

/* ------------------------------------------------------------------------
 * Output */

static void csv_num(FILE *f, double v, const char *fmt) {
    fputc(',', f);
    if (isnan(v) || isinf(v)) fputs("n/a", f);
    else fprintf(f, fmt, v);
}

static void json_num(FILE *f, double v) {
    if (isnan(v) || isinf(v)) fputs("null", f);
    else fprintf(f, "%.10g", v);
}

static void json_str(FILE *f, const char *s) {
    fputc('"', f);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') fprintf(f, "\\%c", ch);
        else if (ch < 0x20) fprintf(f, "\\u%04x", ch);
        else fputc(ch, f);
    }
    fputc('"', f);
}

static void csv_str(FILE *f, const char *s) {
    fputc(',', f);
    if (!strpbrk(s, ",\"\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++) {
        if (*s == '"') fputc('"', f);
        fputc(*s, f);
    }
    fputc('"', f);
}

static const char *mc_method(const dacc_mcnemar *m) { return m->exact ? "exact" : "chi2-cc"; }

static void write_results_csv(rep *r, FILE *f, char (*names)[64], int nv, int maxb) {
    fputs("protocol,task,variant,seed,n_images,clean,clean_lo,clean_hi", f);
    for (int b = 1; b <= maxb; b++) fprintf(f, ",y%d,y%d_lo,y%d_hi", b, b, b);
    fputs(",xhat,xhat_lo,xhat_hi,delta,delta_lo,delta_hi,"
          "mcnemar_clean_b,mcnemar_clean_c,mcnemar_clean_p,"
          "mcnemar_xhat_b,mcnemar_xhat_c,mcnemar_xhat_p,predictions\n", f);
    const char *ref = ref_name(r);
    for (int k = 0; k < 2; k++) {
        if (!(r->o->protocols & (1 << k))) continue;
        for (int v = 0; v < nv; v++) {
            uint64_t *seeds = calloc((size_t)r->nt + 1, sizeof *seeds);
            int ns = 0;
            for (int i = 0; seeds && i < r->nt; i++)
                if (!strcmp(r->t[i].variant, names[v]) && r->t[i].pr[k].present) seeds[ns++] = r->t[i].seed;
            qsort(seeds, (size_t)ns, sizeof *seeds, cmp_u64);
            for (int s = 0; s < ns; s++) {
                const task *t = find_task(r, names[v], seeds[s], k);
                const proto *p = &t->pr[k];
                fprintf(f, "%s", proto_name[k]);
                csv_str(f, t->id);
                csv_str(f, t->variant);
                fprintf(f, ",%llu,%lld", (unsigned long long)t->seed, (long long)p->n);
                dacc_interval w = wilson_acc(p->clean, p->n);
                csv_num(f, p->clean, "%.6f");
                csv_num(f, w.lo, "%.6f");
                csv_num(f, w.hi, "%.6f");
                for (int b = 0; b < maxb; b++) {
                    double y = b < p->nb ? p->y[b] : NAN;
                    w = wilson_acc(y, p->n);
                    csv_num(f, y, "%.6f");
                    csv_num(f, w.lo, "%.6f");
                    csv_num(f, w.hi, "%.6f");
                }
                dacc_paired px = {0, NAN, NAN, NAN, {NAN, NAN, 0}}, pd = px;
                if (p->pred_ok && p->nb > 0) {
                    px = dacc_xhat_interval(p->hist, p->nb);
                    pd = dacc_paired_delta(p->hist, p->nb);
                }
                csv_num(f, p->xhat, "%.6f");
                csv_num(f, px.ci.lo, "%.6f");
                csv_num(f, px.ci.hi, "%.6f");
                csv_num(f, p->delta, "%.6f");
                csv_num(f, pd.ci.lo, "%.6f");
                csv_num(f, pd.ci.hi, "%.6f");
                /* McNemar against Original of the same seed */
                const task *o = ref && strcmp(ref, t->variant) ? find_task(r, ref, t->seed, k) : NULL;
                int64_t b1[MAXB], c1[MAXB];
                if (o && pair_counts(&o->pr[k], p, 0, 0, b1, c1)) {
                    dacc_mcnemar m = dacc_mcnemar_test(b1[0], c1[0]);
                    fprintf(f, ",%lld,%lld", (long long)m.b, (long long)m.c);
                    csv_num(f, m.p, "%.6g");
                } else {
                    fputs(",n/a,n/a,n/a", f);
                }
                int64_t bt = 0, ct = 0;
                if (o && p->nb > 0 && pair_counts(&o->pr[k], p, 1, p->nb, b1, c1)) {
                    for (int b = 0; b < p->nb; b++) bt += b1[b], ct += c1[b];
                    dacc_mcnemar m = dacc_mcnemar_test(bt, ct);
                    fprintf(f, ",%lld,%lld", (long long)m.b, (long long)m.c);
                    csv_num(f, m.p, "%.6g");
                } else {
                    fputs(",n/a,n/a,n/a", f);
                }
                fprintf(f, ",%s\n", p->pred_ok ? "ok" : "n/a");
            }
            free(seeds);
        }
    }
}

static void write_summary_csv_rows(FILE *f, int k, const vrow *rows, int nv) {
    for (int v = 0; v < nv; v++) {
        const vrow *w = &rows[v];
        if (!w->n) continue;
        fprintf(f, "%s", proto_name[k]);
        csv_str(f, w->variant);
        fprintf(f, ",%d,", w->n);
        for (int s = 0; s < w->n; s++) fprintf(f, "%s%llu", s ? " " : "", (unsigned long long)w->seeds[s]);
        fprintf(f, ",%lld,%d", (long long)w->n_images, w->nb);
        const dacc_mean_ci *m3[3] = {&w->clean, &w->xhat, &w->delta};
        for (int q = 0; q < 3; q++) {
            csv_num(f, m3[q]->mean, "%.6f");
            csv_num(f, m3[q]->sd, "%.6f");
            csv_num(f, m3[q]->ci.lo, "%.6f");
            csv_num(f, m3[q]->ci.hi, "%.6f");
        }
        csv_num(f, w->relrob, "%.6f");
        csv_num(f, w->err_clean, "%.6f");
        csv_num(f, w->err_xhat, "%.6f");
        csv_num(f, w->rel_derr, "%.6f");
        const mcn *mc[2] = {&w->mc_clean, &w->mc_trans};
        for (int q = 0; q < 2; q++) {
            if (mc[q]->ok) {
                fprintf(f, ",%lld,%lld", (long long)mc[q]->t.b, (long long)mc[q]->t.c);
                csv_num(f, mc[q]->t.p, "%.6g");
                fprintf(f, ",%s,%d", mc_method(&mc[q]->t), mc[q]->pairs);
            } else {
                fputs(w->is_ref ? ",ref,ref,ref,ref,ref" : ",n/a,n/a,n/a,n/a,n/a", f);
            }
        }
        fprintf(f, ",%s\n", w->n == 1 ? "n=1: no interval over seeds" : "");
    }
}

static void json_ci(FILE *f, const char *name, const dacc_mean_ci *m) {
    fprintf(f, "\"%s\":{\"mean\":", name);
    json_num(f, m->mean);
    fputs(",\"sd\":", f);
    json_num(f, m->sd);
    fputs(",\"ci95\":", f);
    if (m->ci.ok) {
        fputc('[', f);
        json_num(f, m->ci.lo);
        fputc(',', f);
        json_num(f, m->ci.hi);
        fputc(']', f);
    } else {
        fputs("null", f);
    }
    fputc('}', f);
}

static void json_interval(FILE *f, dacc_interval i) {
    if (!i.ok) {
        fputs("null", f);
        return;
    }
    fputc('[', f);
    json_num(f, i.lo);
    fputc(',', f);
    json_num(f, i.hi);
    fputc(']', f);
}

static void json_mcnemar(FILE *f, const vrow *w, const mcn *m, int blocks) {
    if (w->is_ref) {
        fputs("\"reference\"", f);
        return;
    }
    if (!m->ok) {
        fputs("null", f);
        return;
    }
    fprintf(f, "{\"b\":%lld,\"c\":%lld,\"p\":", (long long)m->t.b, (long long)m->t.c);
    json_num(f, m->t.p);
    fputs(",\"chi2\":", f);
    json_num(f, m->t.stat);
    fprintf(f, ",\"method\":\"%s\",\"seed_pairs\":%d", mc_method(&m->t), m->pairs);
    if (blocks) {
        fputs(",\"per_block\":[", f);
        for (int b = 0; b < m->nb; b++) {
            dacc_mcnemar t = dacc_mcnemar_test(m->bb[b], m->cb[b]);
            fprintf(f, "%s{\"b\":%lld,\"c\":%lld,\"p\":", b ? "," : "", (long long)t.b, (long long)t.c);
            json_num(f, t.p);
            fputc('}', f);
        }
        fputc(']', f);
    }
    fputc('}', f);
}

static void write_summary_json_protocol(FILE *f, int k, const vrow *rows, int nv) {
    fprintf(f, "\"%s\":{\"title\":", proto_name[k]);
    json_str(f, proto_title[k]);
    fputs(",\"variants\":[", f);
    int first = 1;
    for (int v = 0; v < nv; v++) {
        const vrow *w = &rows[v];
        if (!w->n) continue;
        fputs(first ? "\n  {" : ",\n  {", f);
        first = 0;
        fputs("\"variant\":", f);
        json_str(f, w->variant);
        fprintf(f, ",\"n\":%d,\"seeds\":[", w->n);
        for (int s = 0; s < w->n; s++) fprintf(f, "%s%llu", s ? "," : "", (unsigned long long)w->seeds[s]);
        fprintf(f, "],\"images\":%lld,\"blocks\":%d,", (long long)w->n_images, w->nb);
        json_ci(f, "clean", &w->clean);
        fputc(',', f);
        json_ci(f, "xhat", &w->xhat);
        fputc(',', f);
        json_ci(f, "delta", &w->delta);
        fputs(",\"one_seed_image_ci95\":", f);
        if (w->n == 1) {
            fputs("{\"clean\":", f);
            json_interval(f, w->one_clean);
            fputs(",\"xhat\":", f);
            json_interval(f, w->one_xhat);
            fputs(",\"delta\":", f);
            json_interval(f, w->one_delta);
            fputc('}', f);
        } else {
            fputs("null", f);
        }
        fputs(",\"rel_robustness\":", f);
        json_num(f, w->relrob);
        fputs(",\"error_ratio_clean\":", f);
        json_num(f, w->err_clean);
        fputs(",\"error_ratio_xhat\":", f);
        json_num(f, w->err_xhat);
        fputs(",\"rel_delta_error\":", f);
        json_num(f, w->rel_derr);
        fputs(",\"mcnemar_clean\":", f);
        json_mcnemar(f, w, &w->mc_clean, 0);
        fputs(",\"mcnemar_xhat\":", f);
        json_mcnemar(f, w, &w->mc_trans, 1);
        fputs(",\"warning\":", f);
        if (w->n == 1) fputs("\"n=1: one seed, no interval over seeds\"", f);
        else fputs("null", f);
        fputc('}', f);
    }
    fputs("]}", f);
}

/* "99.21 [99.10, 99.32]" in percent (or percentage points). */
static void md_val(FILE *f, double mean, dacc_interval ci, int dagger) {
    if (isnan(mean)) {
        fputs("n/a", f);
        return;
    }
    fprintf(f, "%.2f", 100 * mean);
    if (ci.ok) fprintf(f, " [%.2f, %.2f]%s", 100 * ci.lo, 100 * ci.hi, dagger ? "†" : "");
}

static void md_p(FILE *f, const vrow *w, const mcn *m) {
    if (w->is_ref) fputs("ref", f);
    else if (!m->ok) fputs("n/a", f);
    else if (m->t.p < 1e-4) fputs("<1e-4", f);
    else fprintf(f, "%.4f", m->t.p);
}

static void md_ratio(FILE *f, double v) {
    if (isnan(v)) fputs("n/a", f);
    else fprintf(f, "%.3f", v);
}

static void write_md_protocol(FILE *f, int k, const vrow *rows, int nv, int have_ref) {
    int nb = 0, any1 = 0;
    int64_t imgs = 0;
    for (int v = 0; v < nv; v++)
        if (rows[v].n) {
            if (rows[v].nb > nb) nb = rows[v].nb;
            imgs = rows[v].n_images;
            any1 |= rows[v].n == 1;
        }
    fprintf(f, "## %s\n\n", proto_title[k]);
    if (nb) fprintf(f, "%lld images per block, %d transformed block%s.\n\n", (long long)imgs, nb, nb == 1 ? "" : "s");
    else fprintf(f, "%lld images; no transformed blocks (clean accuracy only).\n\n", (long long)imgs);
    fputs("| variant | seeds | clean % | transformed x^ % | Δaccuracy pp | x^/x | error ratio clean / x^ "
          "| rel. Δ error | McNemar p clean / x^ |\n", f);
    fputs("|:--|--:|--:|--:|--:|--:|--:|--:|--:|\n", f);
    for (int v = 0; v < nv; v++) {
        const vrow *w = &rows[v];
        if (!w->n) continue;
        int one = w->n == 1;
        fprintf(f, "| %s | %d | ", w->variant, w->n);
        md_val(f, w->clean.mean, one ? w->one_clean : w->clean.ci, one);
        if (w->mc_clean.ok) fputs(dacc_signif_marker(w->mc_clean.t.p), f);
        fputs(" | ", f);
        md_val(f, w->xhat.mean, one ? w->one_xhat : w->xhat.ci, one);
        if (w->mc_trans.ok) fputs(dacc_signif_marker(w->mc_trans.t.p), f);
        fputs(" | ", f);
        md_val(f, w->delta.mean, one ? w->one_delta : w->delta.ci, one);
        fputs(" | ", f);
        md_ratio(f, w->relrob);
        fputs(" | ", f);
        md_ratio(f, w->err_clean);
        fputs(" / ", f);
        md_ratio(f, w->err_xhat);
        fputs(" | ", f);
        md_ratio(f, w->rel_derr);
        fputs(" | ", f);
        md_p(f, w, &w->mc_clean);
        fputs(" / ", f);
        md_p(f, w, &w->mc_trans);
        fputs(" |\n", f);
    }
    fputs("\nBrackets: 95% t-interval over seeds (clipped to the possible range).", f);
    if (any1)
        fputs(" †: one seed only, so no interval over seeds: the 95% interval over the images"
              " (Wilson for clean, per-image normal for x^ and the paired per-image Δ); seed-to-seed"
              " variation is not in it.", f);
    if (have_ref)
        fputs(" Error ratios and relative Δ error are against Original (1 = the same). Significance"
              " against Original, McNemar on the same images pooled over seeds (and the transformed"
              " blocks): * p < 0.05, ** p < 0.01, *** p < 0.001.\n\n", f);
    else
        fputs(" No Original among the tasks: the comparisons against it are n/a.\n\n", f);
}

static int write_out(const char *dir, const char *name, char *buf, size_t n, dacc_err *e) {
    char path[4400];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return dacc_write_file_atomic(path, buf, n, e);
}

static dacc_fig_val fig_val(const dacc_mean_ci *m, dacc_interval one, int is_one) {
    dacc_interval i = is_one ? one : m->ci;
    return (dacc_fig_val){m->mean, i.ok ? i.lo : NAN, i.ok ? i.hi : NAN};
}

/* figures/ and report.html (study/figures.h) from the rows just written. */
static int write_figures(rep *r, vrow *rows[2], char (*names)[64], int nv, const int *have, const char *out,
                         dacc_err *e) {
    dacc_fig_study *s = calloc(1, sizeof *s);
    if (!s) return dacc_fail(e, "%s/figures: out of memory", out);
    s->nv = nv < DACC_FIG_MAXV ? nv : DACC_FIG_MAXV;
    snprintf(s->title, sizeof s->title, "dacc report: %s", r->inputs.n ? r->inputs.s[0] : "");
    dacc_fig_read_study(s, r->inputs.s[0]);
    if (nv > s->nv) dacc_fig_note(s, "%d variants; the figures show the first %d", nv, s->nv);
    if (r->skipped.n) dacc_fig_note(s, "%d task folder(s) skipped or missing (see summary.md)", r->skipped.n);
    if (nv == 1) dacc_fig_note(s, "one variant only: nothing to compare it with");
    for (int k = 0; k < 2; k++) {
        s->have_proto[k] = have[k];
        s->proto_title[k] = proto_title[k];
        for (int v = 0; have[k] && v < s->nv; v++) {
            const vrow *w = &rows[k][v];
            dacc_fig_proto *p = &s->v[v].pr[k];
            if (!w->n) continue;
            *p = (dacc_fig_proto){1, w->n, w->nb, w->n == 1, fig_val(&w->clean, w->one_clean, w->n == 1),
                                  fig_val(&w->xhat, w->one_xhat, w->n == 1),
                                  fig_val(&w->delta, w->one_delta, w->n == 1),
                                  w->mc_clean.ok ? w->mc_clean.t.p : NAN, w->mc_trans.ok ? w->mc_trans.t.p : NAN,
                                  w->is_ref};
        }
    }
    for (int v = 0; v < s->nv; v++) {
        snprintf(s->v[v].name, sizeof s->v[v].name, "%s", names[v]);
        for (int i = 0; i < r->nt; i++)
            if (!strcmp(r->t[i].variant, names[v])) dacc_fig_add_metrics(s, v, r->t[i].path);
    }
    dacc_fig_finish_curves(s);
    dacc_fig_read_inspect(s, r->inputs.s[0]);
    int rc = dacc_fig_write_all(s, out, e);
    dacc_fig_study_free(s);
    free(s);
    return rc;
}

/* ------------------------------------------------------------------------ */

int dacc_report_run(const char *const *dirs, int n_dirs, const dacc_report_options *o,
                    dacc_report_counts *counts, dacc_err *e) {
    rep r;
    memset(&r, 0, sizeof r);
    r.o = o;
    int rc = 0;
    if (n_dirs < 1) return dacc_fail(e, "no run directory given");
    for (int i = 0; i < n_dirs && rc == 0; i++) {
        rc = read_input(&r, dirs[i], e);
        sl_add(&r.inputs, "%s", dirs[i]);
    }
    /* tasks of a plan that never produced a folder we could read */
    for (int i = 0; rc == 0 && i < r.npl; i++) {
        int found = 0;
        for (int j = 0; j < r.nt && !found; j++)
            found = !strcmp(r.t[j].variant, r.pl[i].variant) && r.t[j].seed == r.pl[i].seed;
        for (int j = 0; j < i && !found; j++) /* listed by an earlier plan */
            found = !strcmp(r.pl[j].variant, r.pl[i].variant) && r.pl[j].seed == r.pl[i].seed;
        char folder[4400];
        snprintf(folder, sizeof folder, "%s/tasks/%s", r.pl[i].src, r.pl[i].id);
        for (int j = 0; j < r.skipped.n && !found; j++) /* already skipped with a reason */
            found = !strncmp(r.skipped.s[j], folder, strlen(folder)) && r.skipped.s[j][strlen(folder)] == ':';
        if (!found) add_skip(&r, folder, "planned in study.json but not started (another shard's, or not run yet)");
    }
    if (rc == 0 && r.nt == 0) rc = dacc_fail(e, "no finished task found in %s%s", dirs[0], n_dirs > 1 ? " ..." : "");
    /* settings every merged task should share */
    for (int i = 1; rc == 0 && i < r.nt; i++)
        if (r.t[i].settings[0] && r.t[0].settings[0] && strcmp(r.t[i].settings, r.t[0].settings)) {
            sl_add(&r.warnings, "%s was run with other settings (%s) than %s (%s): the merge mixes them", r.t[i].path,
                   r.t[i].settings, r.t[0].path, r.t[0].settings);
            break;
        }

    char (*names)[64] = NULL;
    vrow *rows[2] = {NULL, NULL};
    int nv = 0, maxb = 0, have_proto[2] = {0, 0};
    if (rc == 0) {
        names = calloc((size_t)r.nt, sizeof *names);
        rows[0] = calloc((size_t)r.nt, sizeof **rows);
        rows[1] = calloc((size_t)r.nt, sizeof **rows);
        if (!names || !rows[0] || !rows[1]) rc = dacc_fail(e, "out of memory");
    }
    const char *ref = rc == 0 ? ref_name(&r) : NULL;
    if (rc == 0) {
        nv = variant_order(&r, names, r.nt);
        for (int i = 0; i < r.nt; i++)
            for (int k = 0; k < 2; k++)
                if (r.t[i].pr[k].present && (o->protocols & (1 << k))) {
                    have_proto[k] = 1;
                    if (r.t[i].pr[k].nb > maxb) maxb = r.t[i].pr[k].nb;
                }
        if (!have_proto[0] && !have_proto[1]) rc = dacc_fail(e, "no task has results for the protocol asked for");
        if (!ref) sl_add(&r.warnings, "no Original among the tasks: comparisons against it are n/a");
        for (int k = 0; rc == 0 && k < 2; k++) {
            if (!have_proto[k]) continue;
            for (int v = 0; v < nv; v++) summarize(&r, k, names[v], &rows[k][v]);
            /* Original sorts first (variant_order) */
            const vrow *refrow = ref && !strcmp(names[0], ref) && rows[k][0].n ? &rows[k][0] : NULL;
            for (int v = 0; v < nv; v++) {
                if (refrow) compare_ref(&r, k, &rows[k][v], refrow);
                if (rows[k][v].n == 1)
                    sl_add(&r.warnings, "%s/%s: one seed (n=1): no interval over seeds", proto_name[k], names[v]);
            }
        }
    }

    if (rc == 0) {
        const char *out = o->out_dir ? o->out_dir : dirs[0];
        if (!is_dir(out) && mkdir(out, 0755) && errno != EEXIST)
            rc = dacc_fail(e, "%s: cannot create: %s", out, strerror(errno));
        char *buf = NULL;
        size_t n = 0;
        FILE *f;
        if (rc == 0 && (f = open_memstream(&buf, &n))) {
            write_results_csv(&r, f, names, nv, maxb);
            fclose(f);
            rc = write_out(out, "results.csv", buf, n, e);
            free(buf);
        }
        if (rc == 0 && (f = open_memstream(&buf, &n))) {
            fputs("protocol,variant,n_seeds,seeds,n_images,blocks,"
                  "clean_mean,clean_sd,clean_lo,clean_hi,xhat_mean,xhat_sd,xhat_lo,xhat_hi,"
                  "delta_mean,delta_sd,delta_lo,delta_hi,rel_robustness,error_ratio_clean,error_ratio_xhat,"
                  "rel_delta_error,mcnemar_clean_b,mcnemar_clean_c,mcnemar_clean_p,mcnemar_clean_method,"
                  "mcnemar_clean_pairs,mcnemar_xhat_b,mcnemar_xhat_c,mcnemar_xhat_p,mcnemar_xhat_method,"
                  "mcnemar_xhat_pairs,warning\n", f);
            for (int k = 0; k < 2; k++)
                if (have_proto[k]) write_summary_csv_rows(f, k, rows[k], nv);
            fclose(f);
            rc = write_out(out, "summary.csv", buf, n, e);
            free(buf);
        }
        if (rc == 0 && (f = open_memstream(&buf, &n))) {
            fputs("{\"format\":\"dacc-report\",\"version\":1,\"inputs\":[", f);
            for (int i = 0; i < r.inputs.n; i++) {
                if (i) fputc(',', f);
                json_str(f, r.inputs.s[i]);
            }
            fprintf(f, "],\"tasks_used\":%d,\"reference\":", r.nt);
            if (ref) json_str(f, ref);
            else fputs("null", f);
            fputs(",\"skipped\":[", f);
            for (int i = 0; i < r.skipped.n; i++) {
                if (i) fputc(',', f);
                json_str(f, r.skipped.s[i]);
            }
            fputs("],\"warnings\":[", f);
            for (int i = 0; i < r.warnings.n; i++) {
                if (i) fputc(',', f);
                json_str(f, r.warnings.s[i]);
            }
            fputs("],\n\"protocols\":{", f);
            int first = 1;
            for (int k = 0; k < 2; k++)
                if (have_proto[k]) {
                    if (!first) fputs(",\n", f);
                    first = 0;
                    write_summary_json_protocol(f, k, rows[k], nv);
                }
            fputs("}}\n", f);
            fclose(f);
            rc = write_out(out, "summary.json", buf, n, e);
            free(buf);
        }
        if (rc == 0 && (f = open_memstream(&buf, &n))) {
            fputs("# dacc report\n\n", f);
            for (int k = 0; k < 2; k++)
                if (have_proto[k]) write_md_protocol(f, k, rows[k], nv, ref != NULL);
            if (r.skipped.n) {
                fprintf(f, "Skipped %d task folder%s:\n\n", r.skipped.n, r.skipped.n == 1 ? "" : "s");
                for (int i = 0; i < r.skipped.n; i++) fprintf(f, "- %s\n", r.skipped.s[i]);
                fputc('\n', f);
            }
            if (r.warnings.n) {
                fputs("Warnings:\n\n", f);
                for (int i = 0; i < r.warnings.n; i++) fprintf(f, "- %s\n", r.warnings.s[i]);
                fputc('\n', f);
            }
            fclose(f);
            if (o->md) fwrite(buf, 1, n, o->md);
            rc = write_out(out, "summary.md", buf, n, e);
            free(buf);
        }
        if (rc == 0) rc = write_figures(&r, rows, names, nv, have_proto, out, e);
    }
    if (o->log) {
        for (int i = 0; i < r.skipped.n; i++) fprintf(o->log, "skipped %s\n", r.skipped.s[i]);
        for (int i = 0; i < r.warnings.n; i++) fprintf(o->log, "warning: %s\n", r.warnings.s[i]);
    }
    if (counts) {
        counts->tasks_used = r.nt;
        counts->tasks_skipped = r.skipped.n;
        counts->duplicates = r.duplicates;
        counts->warnings = r.warnings.n;
    }
    for (int k = 0; k < 2; k++) {
        for (int v = 0; rows[k] && v < nv; v++) free(rows[k][v].seeds);
        free(rows[k]);
    }
    free(names);
    for (int i = 0; i < r.nt; i++) task_free(&r.t[i]);
    free(r.t);
    free(r.pl);
    sl_free(&r.skipped);
    sl_free(&r.warnings);
    sl_free(&r.inputs);
    return rc;
}
