/* Checkpoint writer and reader. Little-endian, every tensor named, CRC32 over
 * the whole file; a checkpoint is only ever replaced by rename, so a kill at
 * any moment leaves the previous one intact. */
#include "nn/model_internal.h"
#include "dacc/checkpoint.h"
#include "dacc/align.h"
#include "dacc/fileio.h"
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

static const char MAGIC[8] = {'D', 'A', 'C', 'C', 'C', 'K', 'P', 'T'};

typedef struct buf { uint8_t *p; size_t n, cap; int oom; } buf;

static void put(buf *b, const void *d, size_t n) {
    if (b->oom) return;
    if (b->n + n > b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 1 << 16;
        while (cap < b->n + n) cap *= 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p) { b->oom = 1; return; }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
}
static void put_u32(buf *b, uint32_t v) { put(b, &v, 4); }
static void put_u64(buf *b, uint64_t v) { put(b, &v, 8); }
static void put_f32(buf *b, float v) { put(b, &v, 4); }

static void put_tensor(buf *b, const char *name, int kind, int ndim, const int64_t *shape,
                       uint64_t count, const void *data) {
    uint16_t len = (uint16_t)strlen(name);
    put(b, &len, 2);
    put(b, name, len);
    uint8_t k = (uint8_t)kind, nd = (uint8_t)ndim;
    put(b, &k, 1);
    put(b, &nd, 1);
    for (int i = 0; i < ndim; i++) put_u64(b, (uint64_t)shape[i]);
    put_u64(b, count);
    put(b, data, count * (kind ? 8 : 4));
}

int dacc_checkpoint_save(const char *path, dacc_model *m, const dacc_train_config *cfg,
                         int epochs_done, dacc_err *e) {
    buf b = {0};
    const dacc_variant *v = &cfg->variant;
    /* the lowest version that holds the configuration: files without
     * augmentation stay readable by dacc versions that know only version 1 */
    int version = v->augment != DACC_AUGMENT_NONE ? DACC_CKPT_VERSION : 1;
    put(&b, MAGIC, 8);
    put_u32(&b, (uint32_t)version);
    put(&b, v->name, sizeof v->name);
    put_u32(&b, (uint32_t)v->bn);
    put_u32(&b, (uint32_t)v->dropout);
    put_u32(&b, (uint32_t)v->pool);
    put_u32(&b, (uint32_t)v->lr_decay);
    put_u32(&b, (uint32_t)cfg->epochs);
    put_u32(&b, (uint32_t)cfg->batch);
    put_f32(&b, cfg->lr);
    put_f32(&b, cfg->gamma);
    put_u64(&b, cfg->seed);
    put_u32(&b, (uint32_t)cfg->paper);
    put_u32(&b, (uint32_t)cfg->threads);
    put_u64(&b, (uint64_t)cfg->train_limit);
    put_u32(&b, (uint32_t)epochs_done);
    put_u64(&b, (uint64_t)m->adam_step);
    if (version >= 2) {
        put_u32(&b, (uint32_t)v->augment);
        put(&b, &cfg->augment_scale, 8);
        put_u64(&b, cfg->augment_model_hash);
    }
    uint32_t count = (uint32_t)(m->n_tensors + m->n_bn);
    for (int i = 0; i < m->n_tensors; i++) count += m->tensors[i].role == DACC_T_PARAM ? 2 : 0;
    put_u32(&b, count);
    char name[80];
    for (int i = 0; i < m->n_tensors; i++) {
        const dacc_tensor_ref *t = &m->tensors[i];
        put_tensor(&b, t->name, 0, t->ndim, t->shape, t->count, dacc_model_tensor_data(m, t));
        if (t->role != DACC_T_PARAM) continue;
        snprintf(name, sizeof name, "%s#adam_m", t->name);
        put_tensor(&b, name, 0, t->ndim, t->shape, t->count, m->adam_m + t->off);
        snprintf(name, sizeof name, "%s#adam_v", t->name);
        put_tensor(&b, name, 0, t->ndim, t->shape, t->count, m->adam_v + t->off);
    }
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_BN) continue;
        snprintf(name, sizeof name, "%s.num_batches_tracked", l->name);
        put_tensor(&b, name, 1, 0, NULL, 1, &m->bn_batches[l->bn_index]);
    }
    uint32_t crc = (uint32_t)crc32(0L, b.p, (uInt)b.n);
    put_u32(&b, crc);
    if (b.oom) {
        free(b.p);
        return dacc_fail(e, "%s: out of memory building the checkpoint", path);
    }
    int rc = dacc_write_file_atomic(path, b.p, b.n, e);
    free(b.p);
    return rc;
}

typedef struct rd { const uint8_t *p; size_t n, at; int bad; } rd;
static void get(rd *r, void *d, size_t n) {
    if (r->bad || r->at + n > r->n) { r->bad = 1; memset(d, 0, n); return; }
    memcpy(d, r->p + r->at, n);
    r->at += n;
}
static uint32_t get_u32(rd *r) { uint32_t v; get(r, &v, 4); return v; }
static uint64_t get_u64(rd *r) { uint64_t v; get(r, &v, 8); return v; }
static float get_f32(rd *r) { float v; get(r, &v, 4); return v; }

void dacc_checkpoint_free(dacc_checkpoint *c) {
    if (c->tensors)
        for (int i = 0; i < c->n_tensors; i++) free(c->tensors[i].data);
    free(c->tensors);
    memset(c, 0, sizeof *c);
}

/* Every header field against the range the CLI accepts for it (a CRC only
 * proves the file is intact, not that its writer was sane). */
static int check_header(const dacc_checkpoint *c, const char *path, dacc_err *e) {
    const dacc_train_config *g = &c->cfg;
    const dacc_variant *v = &g->variant;
    const char *bad = NULL;
    size_t nl = strnlen(v->name, sizeof v->name);
    for (size_t i = 0; i < nl && !bad; i++)
        if (v->name[i] < 0x21 || v->name[i] > 0x7e) bad = "variant name";
    if (nl == 0 || nl == sizeof v->name) bad = "variant name";
    else if (v->bn != 0 && v->bn != 1) bad = "bn (0 or 1)";
    else if ((unsigned)v->dropout > DACC_DROPOUT_NONE) bad = "dropout (0..2)";
    else if ((unsigned)v->pool > DACC_POOL_CONV) bad = "pool (0..2)";
    else if (v->lr_decay != 0 && v->lr_decay != 1) bad = "lr_decay (0 or 1)";
    else if (g->epochs < 0 || g->epochs > DACC_CKPT_MAX_EPOCHS) bad = "epochs (0..1000)";
    else if (g->batch < 1 || g->batch > DACC_CKPT_MAX_BATCH) bad = "batch (1..4096)";
    else if (!(g->lr >= 1e-9f && g->lr <= 10.0f)) bad = "lr (1e-9..10)";
    else if (!(g->gamma > 0.0f && g->gamma <= 1.0f)) bad = "gamma (0..1]";
    else if (g->seed > 2147483647u) bad = "seed (0..2^31-1)";
    else if (g->paper != 0 && g->paper != 1) bad = "protocol (0 default, 1 paper)";
    else if (g->threads < 0 || g->threads > DACC_CKPT_MAX_THREADS) bad = "threads (0..4096)";
    else if (g->train_limit < 0 || g->train_limit > ((int64_t)1 << 40))
        bad = "train_limit (0..2^40)";
    else if ((unsigned)v->augment > DACC_AUGMENT_ALIGN) bad = "augment (0 none, 1 align)";
    else if (!(g->augment_scale >= 0 && g->augment_scale <= 100)) bad = "augment scale (0..100)";
    else if (c->epochs_done < 0 || c->epochs_done > g->epochs) bad = "epochs_done (0..epochs)";
    else if (c->adam_step < 0 || c->adam_step > ((int64_t)1 << 48)) bad = "adam_step";
    if (bad) return dacc_fail(e, "%s: checkpoint header field out of range: %s", path, bad);
    return 0;
}

/* One named tensor record into t; its element count is bounded by the bytes
 * left before anything is allocated. Returns -1 (r->bad set) if malformed. */
static int read_tensor(rd *r, dacc_ckpt_tensor *t) {
    uint16_t len;
    get(r, &len, 2);
    if (r->bad || len == 0 || len >= sizeof t->name) return r->bad = 1, -1;
    get(r, t->name, len);
    uint8_t kind, nd;
    get(r, &kind, 1);
    get(r, &nd, 1);
    if (kind > 1 || nd > 4) return r->bad = 1, -1;
    t->kind = kind;
    t->ndim = nd;
    for (int d = 0; d < nd; d++) t->shape[d] = (int64_t)get_u64(r);
    t->count = get_u64(r);
    if (r->bad || t->count > (r->n - r->at) / (kind ? 8 : 4)) return r->bad = 1, -1;
    size_t bytes = t->count * (kind ? 8 : 4);
    t->data = malloc(bytes ? bytes : 1);
    if (!t->data) return r->bad = 1, -1;
    get(r, t->data, bytes);
    return 0;
}

int dacc_checkpoint_read(const char *path, dacc_checkpoint *c, dacc_err *e) {
    memset(c, 0, sizeof *c);
    char *raw;
    size_t size;
    if (dacc_read_file(path, (size_t)1 << 30, &raw, &size, e)) return -1;
    uint8_t *data = (uint8_t *)raw;
    int rc = -1;
    if (size < 16 || memcmp(data, MAGIC, 8)) {
        dacc_fail(e, "%s: not a dacc checkpoint (bad magic)", path);
        goto out;
    }
    uint32_t stored, version;
    memcpy(&version, data + 8, 4);
    if (version < 1 || version > DACC_CKPT_VERSION) {
        dacc_fail(e, "%s: checkpoint version %u, this dacc reads versions 1..%d", path, version, DACC_CKPT_VERSION);
        goto out;
    }
    memcpy(&stored, data + size - 4, 4);
    if ((uint32_t)crc32(0L, data, (uInt)(size - 4)) != stored) {
        dacc_fail(e, "%s: checkpoint is damaged (CRC32 mismatch): truncated or corrupted", path);
        goto out;
    }
    rd r = {data, size - 4, 12, 0};
    dacc_train_config *cfg = &c->cfg;
    get(&r, cfg->variant.name, sizeof cfg->variant.name);
    cfg->variant.name[sizeof cfg->variant.name - 1] = 0;
    /* u32 fields land in int as their bit pattern: 0xFFFFFFFF reads as -1,
     * which the range checks refuse */
    cfg->variant.bn = (int)get_u32(&r);
    cfg->variant.dropout = (dacc_dropout_kind)get_u32(&r);
    cfg->variant.pool = (dacc_pool_kind)get_u32(&r);
    cfg->variant.lr_decay = (int)get_u32(&r);
    cfg->epochs = (int)get_u32(&r);
    cfg->batch = (int)get_u32(&r);
    cfg->lr = get_f32(&r);
    cfg->gamma = get_f32(&r);
    cfg->seed = get_u64(&r);
    cfg->paper = (int)get_u32(&r);
    cfg->threads = (int)get_u32(&r);
    cfg->train_limit = (int64_t)get_u64(&r);
    c->epochs_done = (int)get_u32(&r);
    c->adam_step = (int64_t)get_u64(&r);
    cfg->augment_scale = DACC_ALIGN_DEFAULT_SCALE;
    if (version >= 2) {
        cfg->variant.augment = (dacc_augment_kind)get_u32(&r);
        get(&r, &cfg->augment_scale, 8);
        cfg->augment_model_hash = get_u64(&r);
    }
    uint32_t count = get_u32(&r);
    if (r.bad || count > 4096) {
        dacc_fail(e, "%s: checkpoint header is malformed", path);
        goto out;
    }
    if (check_header(c, path, e)) goto out;
    c->tensors = calloc(count ? count : 1, sizeof *c->tensors);
    if (!c->tensors) { dacc_fail(e, "%s: out of memory", path); goto out; }
    for (uint32_t i = 0; i < count && read_tensor(&r, &c->tensors[c->n_tensors]) == 0; i++) c->n_tensors++;
    if (r.bad || c->n_tensors != (int)count || r.at != r.n) {
        dacc_fail(e, "%s: checkpoint structure is malformed (tensor %d of %u)", path, c->n_tensors, count);
        goto out;
    }
    rc = 0;
out:
    free(data);
    if (rc) dacc_checkpoint_free(c);
    return rc;
}

static const dacc_ckpt_tensor *find(const dacc_checkpoint *c, const char *name) {
    for (int i = 0; i < c->n_tensors; i++)
        if (!strcmp(c->tensors[i].name, name)) return &c->tensors[i];
    return NULL;
}

static int take(const dacc_checkpoint *c, const char *name, const dacc_tensor_ref *ref, float *dst,
                const char *path, dacc_err *e) {
    const dacc_ckpt_tensor *t = find(c, name);
    if (!t) return dacc_fail(e, "%s: tensor %s is missing", path, name);
    if (t->kind != 0 || t->count != ref->count || t->ndim != ref->ndim)
        return dacc_fail(e, "%s: tensor %s has the wrong shape for variant %s", path, name,
                         c->cfg.variant.name);
    for (int d = 0; d < t->ndim; d++)
        if (t->shape[d] != ref->shape[d])
            return dacc_fail(e, "%s: tensor %s has the wrong shape", path, name);
    memcpy(dst, t->data, t->count * sizeof(float));
    return 0;
}

/* Does the model have a place for this checkpoint tensor? */
static int model_has(const dacc_model *m, const char *ck_name) {
    char base[64];
    snprintf(base, sizeof base, "%s", ck_name);
    char *hash = strchr(base, '#');
    if (hash) *hash = 0;
    if (dacc_model_find_tensor(m, base)) return 1;
    const char *dot = strrchr(base, '.');
    if (!hash && dot && !strcmp(dot, ".num_batches_tracked"))
        for (int i = 0; i < m->n_layers; i++)
            if (m->layers[i].kind == DACC_L_BN && !strncmp(base, m->layers[i].name, (size_t)(dot - base)) &&
                m->layers[i].name[dot - base] == 0)
                return 1;
    return 0;
}

int dacc_checkpoint_apply(const dacc_checkpoint *c, dacc_model *m, int with_optimizer,
                          const char *path, dacc_err *e) {
    char name[80];
    for (int i = 0; i < c->n_tensors; i++)
        if (!model_has(m, c->tensors[i].name))
            return dacc_fail(e, "%s: tensor %s does not belong to variant %s (checkpoint of variant %s)",
                             path, c->tensors[i].name, m->variant.name, c->cfg.variant.name);
    for (int i = 0; i < m->n_tensors; i++) {
        const dacc_tensor_ref *t = &m->tensors[i];
        if (take(c, t->name, t, dacc_model_tensor_data(m, t), path, e)) return -1;
        if (!with_optimizer || t->role != DACC_T_PARAM) continue;
        snprintf(name, sizeof name, "%s#adam_m", t->name);
        if (take(c, name, t, m->adam_m + t->off, path, e)) return -1;
        snprintf(name, sizeof name, "%s#adam_v", t->name);
        if (take(c, name, t, m->adam_v + t->off, path, e)) return -1;
    }
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_BN) continue;
        snprintf(name, sizeof name, "%s.num_batches_tracked", l->name);
        const dacc_ckpt_tensor *t = find(c, name);
        if (!t || t->kind != 1 || t->count != 1) return dacc_fail(e, "%s: tensor %s is missing", path, name);
        memcpy(&m->bn_batches[l->bn_index], t->data, 8);
    }
    if (with_optimizer) m->adam_step = c->adam_step;
    return 0;
}
