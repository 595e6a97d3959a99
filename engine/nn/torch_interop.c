/* Export/import of weights under PyTorch names (see include/dacc/interop.h). */
#include "nn/model_internal.h"
#include "dacc/interop.h"
#include "dacc/npz.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void dacc_weight_to_torch(const float *src, int oc, int ic, int kh, int kw, float *dst) {
    for (int a = 0; a < kh; a++)
        for (int b = 0; b < kw; b++)
            for (int i = 0; i < ic; i++)
                for (int o = 0; o < oc; o++)
                    dst[(((size_t)o * ic + i) * kh + a) * kw + b] = src[(((size_t)a * kw + b) * ic + i) * oc + o];
}

void dacc_weight_from_torch(const float *src, int oc, int ic, int kh, int kw, float *dst) {
    for (int a = 0; a < kh; a++)
        for (int b = 0; b < kw; b++)
            for (int i = 0; i < ic; i++)
                for (int o = 0; o < oc; o++)
                    dst[(((size_t)a * kw + b) * ic + i) * oc + o] = src[(((size_t)o * ic + i) * kh + a) * kw + b];
}

/* The conv layer owning a weight tensor, for its kernel size. */
static const dacc_layer *owner(const dacc_model *m, const dacc_tensor_ref *t) {
    for (int i = 0; i < m->n_layers; i++)
        if (m->layers[i].kind == DACC_L_CONV && m->layers[i].w_off == t->off) return &m->layers[i];
    return NULL;
}

int dacc_export_npz(dacc_model *m, const char *path, dacc_err *e) {
    dacc_npz_writer *w;
    if (dacc_npz_writer_open(path, 0, &w, e)) return -1;
    float *tmp = malloc(sizeof(float) * 140000);
    if (!tmp) {
        dacc_npz_writer_abort(w);
        return dacc_fail(e, "out of memory");
    }
    for (int i = 0; i < m->n_tensors; i++) {
        const dacc_tensor_ref *t = &m->tensors[i];
        const float *src = dacc_model_tensor_data(m, t);
        if (t->conv_weight) {
            const dacc_layer *l = owner(m, t);
            dacc_weight_to_torch(src, l->oc, l->c, l->k, l->k, tmp);
            src = tmp;
        }
        if (dacc_npz_writer_add(w, t->name, "<f4", t->ndim, t->shape, src, e)) goto fail;
    }
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_BN) continue;
        char name[64];
        snprintf(name, sizeof name, "%s.num_batches_tracked", l->name);
        if (dacc_npz_writer_add(w, name, "<i8", 0, NULL, &m->bn_batches[l->bn_index], e)) goto fail;
    }
    free(tmp);
    return dacc_npz_writer_close(w, e);
fail:
    free(tmp);
    dacc_npz_writer_abort(w);
    return -1;
}

int dacc_import_npz(dacc_model *m, const char *path, dacc_err *e) {
    dacc_npz *z;
    if (dacc_npz_open(path, &z, e)) return -1;
    float *tmp = malloc(sizeof(float) * 140000);
    int rc = -1;
    if (!tmp) { dacc_fail(e, "out of memory"); goto out; }
    for (int i = 0; i < m->n_tensors; i++) {
        const dacc_tensor_ref *t = &m->tensors[i];
        const dacc_npy_array *a = dacc_npz_find(z, t->name);
        if (!a) { dacc_fail(e, "%s: array %s is missing (variant %s)", path, t->name, m->variant.name); goto out; }
        int same = a->ndim == t->ndim;
        for (int d = 0; same && d < a->ndim; d++) same = a->shape[d] == t->shape[d];
        if (!same) { dacc_fail(e, "%s: array %s has the wrong shape for variant %s", path, t->name, m->variant.name); goto out; }
        float *dst = dacc_model_tensor_data(m, t);
        if (dacc_npz_read_f32(z, a, 0, (int64_t)t->count, t->conv_weight ? tmp : dst, e)) goto out;
        if (t->conv_weight) {
            const dacc_layer *l = owner(m, t);
            dacc_weight_from_torch(tmp, l->oc, l->c, l->k, l->k, dst);
        }
    }
    for (int i = 0; i < m->n_layers; i++) {
        const dacc_layer *l = &m->layers[i];
        if (l->kind != DACC_L_BN) continue;
        char name[64];
        snprintf(name, sizeof name, "%s.num_batches_tracked", l->name);
        const dacc_npy_array *a = dacc_npz_find(z, name);
        if (a && a->count == 1 && dacc_npz_read_i64(z, a, 0, 1, &m->bn_batches[l->bn_index], e)) goto out;
    }
    rc = 0;
out:
    free(tmp);
    dacc_npz_close(z);
    return rc;
}
