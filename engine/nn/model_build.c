/* Building the network of STUDY.md for a variant: the layer list, the
 * arenas (parameters, gradients, Adam moments, buffers, activations) and
 * PyTorch's default initialisation. */
#include "nn/model_internal.h"
#include "dacc/model.h"
#include "nn/model_plan.h"
#include "core/rng.h"
#include "core/threadpool.h"
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct builder {
    dacc_model *m;
    int cur;            /* current activation tensor */
    int h, w, c;        /* its per-image shape */
    size_t aux_bytes;   /* per image */
    int bn_count;
} builder;

static int new_act(builder *b, int h, int w, int c) {
    dacc_model *m = b->m;
    int id = m->n_acts++;
    m->act_size[id] = (size_t)h * w * c;
    return id;
}

static dacc_layer *push(builder *b, dacc_layer_kind kind, const char *name) {
    dacc_layer *l = &b->m->layers[b->m->n_layers++];
    memset(l, 0, sizeof *l);
    l->kind = kind;
    snprintf(l->name, sizeof l->name, "%s", name);
    l->in = b->cur;
    l->h = b->h; l->w = b->w; l->c = b->c;
    l->oh = b->h; l->ow = b->w; l->oc = b->c;
    return l;
}

static void add_tensor(builder *b, const char *layer, const char *what, dacc_tensor_role role,
                       size_t off, int ndim, const int64_t *shape, int conv_weight) {
    dacc_tensor_ref *t = &b->m->tensors[b->m->n_tensors++];
    snprintf(t->name, sizeof t->name, "%s.%s", layer, what);
    t->role = role;
    t->off = off;
    t->ndim = ndim;
    t->count = 1;
    for (int i = 0; i < ndim; i++) t->count *= (size_t)(t->shape[i] = shape[i]);
    t->conv_weight = conv_weight;
}

static void conv(builder *b, const char *name, int oc, int k, int stride, int pad) {
    dacc_layer *l = push(b, DACC_L_CONV, name);
    l->k = k; l->stride = stride; l->pad = pad;
    l->oh = (b->h + 2 * pad - k) / stride + 1;
    l->ow = (b->w + 2 * pad - k) / stride + 1;
    l->oc = oc;
    dacc_model *m = b->m;
    l->w_off = m->n_params;
    m->n_params += (size_t)k * k * b->c * oc;
    l->b_off = m->n_params;
    m->n_params += (size_t)oc;
    int64_t ws[4] = {oc, b->c, k, k}, bs[1] = {oc};
    /* the Linear layer is a 1x1 conv on a 1x1 image: PyTorch shape [out][in] */
    if (!strcmp(name, "fc")) add_tensor(b, name, "weight", DACC_T_PARAM, l->w_off, 2, ws, 1);
    else add_tensor(b, name, "weight", DACC_T_PARAM, l->w_off, 4, ws, 1);
    add_tensor(b, name, "bias", DACC_T_PARAM, l->b_off, 1, bs, 0);
    b->h = l->oh; b->w = l->ow; b->c = oc;
    l->out = b->cur = new_act(b, b->h, b->w, b->c);
}

static void relu(builder *b) {
    dacc_layer *l = push(b, DACC_L_RELU, "");
    l->out = b->cur; /* in place */
}

static void bn(builder *b, const char *name) {
    if (!b->m->variant.bn) return;
    dacc_layer *l = push(b, DACC_L_BN, name);
    dacc_model *m = b->m;
    int64_t cs[1] = {b->c};
    l->w_off = m->n_params; m->n_params += b->c;
    l->b_off = m->n_params; m->n_params += b->c;
    l->rm_off = m->n_buffers; m->n_buffers += b->c;
    l->rv_off = m->n_buffers; m->n_buffers += b->c;
    l->stat_off = m->n_stats; m->n_stats += 2 * (size_t)b->c;
    l->bn_index = b->bn_count++;
    add_tensor(b, name, "weight", DACC_T_PARAM, l->w_off, 1, cs, 0);
    add_tensor(b, name, "bias", DACC_T_PARAM, l->b_off, 1, cs, 0);
    add_tensor(b, name, "running_mean", DACC_T_BUFFER, l->rm_off, 1, cs, 0);
    add_tensor(b, name, "running_var", DACC_T_BUFFER, l->rv_off, 1, cs, 0);
    l->out = b->cur = new_act(b, b->h, b->w, b->c);
}

static void pool(builder *b, const char *conv_name) {
    dacc_pool_kind kind = b->m->variant.pool;
    if (kind == DACC_POOL_CONV) {
        conv(b, conv_name, b->c, 5, 2, 2);
        return;
    }
    dacc_layer *l = push(b, kind == DACC_POOL_MAX ? DACC_L_MAXPOOL : DACC_L_AVGPOOL, "");
    l->k = 5; l->stride = 2; l->pad = 2;
    l->oh = (b->h + 4 - 5) / 2 + 1;
    l->ow = (b->w + 4 - 5) / 2 + 1;
    if (kind == DACC_POOL_MAX) {
        l->aux_off = b->aux_bytes;
        b->aux_bytes += (size_t)l->oh * l->ow * l->oc * sizeof(int32_t);
    }
    b->h = l->oh; b->w = l->ow;
    l->out = b->cur = new_act(b, b->h, b->w, b->c);
}

static void dropout(builder *b, int in_conv_stack) {
    dacc_dropout_kind d = b->m->variant.dropout;
    if (d == DACC_DROPOUT_NONE || (in_conv_stack && d == DACC_DROPOUT_FC)) return;
    dacc_layer *l = push(b, DACC_L_DROPOUT, "");
    l->p = 0.4f;
    l->aux_off = b->aux_bytes;
    b->aux_bytes += (size_t)b->h * b->w * b->c;
    l->out = b->cur; /* in place */
}

/* The network, in STUDY.md's order: ReLU before BatchNorm everywhere. */
static void build_layers(builder *b) {
    conv(b, "conv32_1", 32, 3, 1, 0); relu(b); bn(b, "BN32_1");
    conv(b, "conv32_2", 32, 3, 1, 0); relu(b); bn(b, "BN32_2");
    pool(b, "pool_1"); relu(b); bn(b, "BN32_3");
    dropout(b, 1);
    conv(b, "conv64_1", 64, 3, 1, 0); relu(b); bn(b, "BN64_1");
    conv(b, "conv64_2", 64, 3, 1, 0); relu(b); bn(b, "BN64_2");
    pool(b, "pool_2"); relu(b); bn(b, "BN64_3");
    dropout(b, 1);
    conv(b, "conv128", 128, 4, 1, 0); relu(b); bn(b, "BN128");
    dropout(b, 0);
    conv(b, "fc", DACC_CLASSES, 1, 1, 0);
}

void dacc_model_init_params(dacc_model *m, uint64_t seed) {
    for (int i = 0; i < m->n_layers; i++) {
        dacc_layer *l = &m->layers[i];
        dacc_rng r;
        dacc_rng_seed(&r, seed, DACC_STREAM_INIT, (uint64_t)i, 0);
        if (l->kind == DACC_L_CONV) {
            /* kaiming_uniform(a=sqrt(5)) and the bias rule both give
             * U(-1/sqrt(fan_in), 1/sqrt(fan_in)) */
            size_t fan_in = (size_t)l->k * l->k * l->c, nw = fan_in * l->oc;
            float bound = 1.0f / sqrtf((float)fan_in);
            for (size_t j = 0; j < nw; j++)
                m->params[l->w_off + j] = (float)(dacc_rng_uniform(&r) * 2 - 1) * bound;
            for (int j = 0; j < l->oc; j++)
                m->params[l->b_off + j] = (float)(dacc_rng_uniform(&r) * 2 - 1) * bound;
        } else if (l->kind == DACC_L_BN) {
            for (int j = 0; j < l->c; j++) {
                m->params[l->w_off + j] = 1.0f;
                m->params[l->b_off + j] = 0.0f;
                m->buffers[l->rm_off + j] = 0.0f;
                m->buffers[l->rv_off + j] = 1.0f;
            }
            m->bn_batches[l->bn_index] = 0;
        }
    }
    memset(m->adam_m, 0, m->n_params * sizeof(float));
    memset(m->adam_v, 0, m->n_params * sizeof(float));
    m->adam_step = 0;
}

/* The activation gradients share k regions instead of one per tensor: a
 * tensor's gradient is written by the backward of the layer that reads the
 * tensor and last read by that of the layer that wrote it, and the network
 * is a chain whose backward runs in reverse, so no other gradient is
 * written in between. Within a backward round (model_pass.c) each task
 * runs the round's layers over its own images without waiting for the
 * others, so every tensor one round touches needs a region of its own:
 * tensor id modulo k, k the smallest for which that holds. */
static int round_fits(const dacc_model *m, int k) {
    for (int i = m->n_layers - 1; i >= 0;) {
        int conv, end = dacc_model_bwd_round_end(m, i, &conv), owner[DACC_MAX_ACTS];
        int ids[2 * DACC_MAX_LAYERS + 1], n = dacc_model_bwd_round_tensors(m, i, end, ids);
        for (int c = 0; c < k; c++) owner[c] = -1;
        for (int q = 0; q < n; q++) {
            int c = ids[q] % k;
            if (owner[c] >= 0 && owner[c] != ids[q]) return 0;
            owner[c] = ids[q];
        }
        i = end;
    }
    return 1;
}

/* dact_off of every tensor for max_batch images; returns the floats of
 * the gradient arena. */
static size_t layout_grads(dacc_model *m, int max_batch) {
    int k = 2;
    while (k < m->n_acts && !round_fits(m, k)) k++;
    size_t region[DACC_MAX_ACTS] = {0}, base[DACC_MAX_ACTS], total = 0;
    for (int i = 0; i < m->n_acts; i++) {
        size_t sz = m->act_size[i] * (size_t)max_batch;
        if (sz > region[i % k]) region[i % k] = sz;
    }
    for (int c = 0; c < k; c++) base[c] = total, total += region[c];
    for (int i = 0; i < m->n_acts; i++) m->dact_off[i] = base[i % k];
    return total;
}

int dacc_model_init(dacc_model *m, const dacc_variant *v, int max_batch, int threads,
                    uint64_t seed, dacc_err *e) {
    memset(m, 0, sizeof *m);
    m->k = dacc_kernels_get();
    if (!m->k) return dacc_fail(e, "%s", dacc_kernels_error());
    if (max_batch < 1) return dacc_fail(e, "batch size must be at least 1 (got %d)", max_batch);
    m->variant = *v;
    m->max_batch = max_batch;
    builder b = {m, 0, 28, 28, 1, 0, 0};
    b.cur = new_act(&b, 28, 28, 1);
    build_layers(&b);
    m->n_bn = b.bn_count;
    m->aux_per_image = b.aux_bytes;
    size_t total = 0;
    for (int i = 0; i < m->n_acts; i++) {
        m->act_off[i] = total;
        total += m->act_size[i] * (size_t)max_batch;
    }
    size_t grad_total = layout_grads(m, max_batch), scratch = 0;
    for (int i = 0; i < m->n_layers; i++) {
        dacc_layer *l = &m->layers[i];
        if (l->kind == DACC_L_CONV) {
            size_t s = (size_t)l->k * l->k * l->c * l->oc + l->oc;
            if (s > scratch) scratch = s;
        }
    }
    if (threads < 1) threads = 1;
    m->pool = dacc_pool_create(threads);
    m->scratch_per_thread = scratch;
    m->params = calloc(m->n_params, sizeof(float));
    m->grads = calloc(m->n_params, sizeof(float));
    m->adam_m = calloc(m->n_params, sizeof(float));
    m->adam_v = calloc(m->n_params, sizeof(float));
    m->buffers = calloc(m->n_buffers + 1, sizeof(float));
    m->bn_batches = calloc((size_t)m->n_bn + 1, sizeof(int64_t));
    m->acts = calloc(total, sizeof(float));
    m->dacts = calloc(grad_total, sizeof(float));
    m->aux = calloc(m->aux_per_image * (size_t)max_batch + 1, 1);
    m->stats = calloc(m->n_stats + 1, sizeof(float));
    m->scratch = calloc(2 * scratch * (size_t)threads, sizeof(float));
    m->folded = calloc(m->n_params, sizeof(float));
    m->eval_src = calloc(m->n_params + m->n_buffers + 1, sizeof(float));
    m->red = calloc((size_t)threads * 2 * 128, sizeof(double));
    if (!m->pool || !m->params || !m->grads || !m->adam_m || !m->adam_v || !m->buffers ||
        !m->bn_batches || !m->acts || !m->dacts || !m->aux || !m->stats || !m->scratch || !m->red ||
        !m->folded || !m->eval_src || dacc_model_plan_init(m, threads)) {
        dacc_model_free(m);
        return dacc_fail(e, "out of memory allocating the model for batch %d", max_batch);
    }
    dacc_model_init_params(m, seed);
    return 0;
}

void dacc_model_free(dacc_model *m) {
    dacc_pool_destroy(m->pool);
    free(m->params); free(m->grads); free(m->adam_m); free(m->adam_v);
    free(m->buffers); free(m->bn_batches); free(m->acts); free(m->dacts);
    free(m->aux); free(m->stats); free(m->scratch); free(m->red);
    free(m->folded); free(m->eval_src);
    dacc_model_plan_free(m);
    memset(m, 0, sizeof *m);
}

const dacc_tensor_ref *dacc_model_find_tensor(const dacc_model *m, const char *name) {
    for (int i = 0; i < m->n_tensors; i++)
        if (!strcmp(m->tensors[i].name, name)) return &m->tensors[i];
    return NULL;
}

float *dacc_model_tensor_data(dacc_model *m, const dacc_tensor_ref *t) {
    return (t->role == DACC_T_PARAM ? m->params : m->buffers) + t->off;
}

dacc_model *dacc_model_new(const dacc_variant *v, int max_batch, int threads, uint64_t seed,
                           dacc_err *e) {
    dacc_model *m = calloc(1, sizeof *m);
    if (!m) {
        dacc_fail(e, "out of memory for the model");
        return NULL;
    }
    if (dacc_model_init(m, v, max_batch, threads, seed, e)) {
        free(m);
        return NULL;
    }
    return m;
}

void dacc_model_delete(dacc_model *m) {
    if (!m) return;
    dacc_model_free(m);
    free(m);
}

const dacc_kernels *dacc_model_kernels(const dacc_model *m) { return m->k; }

int dacc_model_max_batch(const dacc_model *m) { return m->max_batch; }
