/* Checkpoints: a round trip restores every tensor bit for bit (and so the
 * same predictions); damaged, truncated and foreign files are refused with a
 * message naming the file, and so is every header field outside the range
 * the CLI accepts, even under a valid CRC; a FIFO fails at once;
 * export/import through .npz is lossless. */
#include "nn/model_internal.h"
#include "dacc/checkpoint.h"
#include "dacc/interop.h"
#include "harness.h"
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static long file_size(const char *p) {
    FILE *f = fopen(p, "rb");
    if (!f) return -1;
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fclose(f);
    return n;
}

static void write_bytes(const char *p, const void *d, size_t n) {
    FILE *f = fopen(p, "wb");
    fwrite(d, 1, n, f);
    fclose(f);
}

static unsigned char *read_all(const char *p, long *n) {
    *n = file_size(p);
    if (*n <= 0 || *n > (1L << 30)) return NULL;
    unsigned char *b = malloc((size_t)*n);
    FILE *f = fopen(p, "rb");
    if (fread(b, 1, (size_t)*n, f) != (size_t)*n) *n = -1;
    fclose(f);
    return b;
}

static int same_model(dacc_model *a, dacc_model *b, int optimizer) {
    if (memcmp(a->params, b->params, a->n_params * sizeof(float))) return 0;
    if (memcmp(a->buffers, b->buffers, a->n_buffers * sizeof(float))) return 0;
    if (memcmp(a->bn_batches, b->bn_batches, a->n_bn * sizeof(int64_t))) return 0;
    if (optimizer && (memcmp(a->adam_m, b->adam_m, a->n_params * sizeof(float)) ||
                      memcmp(a->adam_v, b->adam_v, a->n_params * sizeof(float)) ||
                      a->adam_step != b->adam_step))
        return 0;
    return 1;
}

static void expect_refused(const char *path, const char *what, const char *needle) {
    dacc_checkpoint c;
    dacc_err e = {""};
    int rc = dacc_checkpoint_read(path, &c, &e);
    CHECK(rc != 0, "%s: accepted", what);
    CHECK(strstr(e.msg, path) != NULL, "%s: message names the file: %s", what, e.msg);
    if (needle) CHECK(strstr(e.msg, needle) != NULL, "%s: message says '%s': %s", what, needle, e.msg);
}

/* Writes good with a 4-byte header field at off replaced by v and the CRC
 * recomputed, so only the range checks can refuse it. */
static void patched(const unsigned char *good, long n, const char *bad, size_t off, const void *v) {
    unsigned char *c = malloc((size_t)n);
    memcpy(c, good, (size_t)n);
    memcpy(c + off, v, 4);
    uint32_t crc = (uint32_t)crc32(0L, c, (uInt)(n - 4));
    memcpy(c + n - 4, &crc, 4);
    write_bytes(bad, c, (size_t)n);
    free(c);
}

/* Header offsets: magic 8, version 4, name 32, then u32 bn 44, dropout 48,
 * pool 52, lr_decay 56, epochs 60, batch 64, f32 lr 68, gamma 72, u64 seed
 * 76, u32 paper 84, threads 88, u64 train_limit 92, u32 epochs_done 100. */
static void header_fields(const unsigned char *good, long n, const char *bad) {
    static const struct { size_t off; uint32_t u; float f; int is_f; const char *field; } cases[] = {
        {88, 100000, 0, 0, "threads"},    {60, 1000000000, 0, 0, "epochs"},
        {100, 0xFFFFFFFFu, 0, 0, "epochs_done"}, {100, 21, 0, 0, "epochs_done"},
        {44, 7, 0, 0, "bn"},              {84, 5, 0, 0, "protocol"},
        {48, 3, 0, 0, "dropout"},         {52, 9, 0, 0, "pool"},
        {56, 2, 0, 0, "lr_decay"},        {64, 0, 0, 0, "batch"},
        {64, 100000, 0, 0, "batch"},      {60, 0xFFFFFFFFu, 0, 0, "epochs"},
        {68, 0, NAN, 1, "lr"},            {68, 0, INFINITY, 1, "lr"},
        {68, 0, 0.0f, 1, "lr"},           {68, 0, -1e-3f, 1, "lr"},
        {72, 0, NAN, 1, "gamma"},         {72, 0, 2.0f, 1, "gamma"},
        {80, 1, 0, 0, "seed"},            {96, 0x80000000u, 0, 0, "train_limit"},
        {12, 0, 0, 0, "variant name"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        unsigned char v[4];
        if (cases[i].is_f) memcpy(v, &cases[i].f, 4);
        else memcpy(v, &cases[i].u, 4);
        patched(good, n, bad, cases[i].off, v);
        char what[64];
        snprintf(what, sizeof what, "%s at offset %zu", cases[i].field, cases[i].off);
        expect_refused(bad, what, cases[i].field);
    }
    /* the unpatched header with a recomputed CRC is still accepted */
    patched(good, n, bad, 60, good + 60);
    dacc_checkpoint c;
    dacc_err e;
    CHECK(dacc_checkpoint_read(bad, &c, &e) == 0, "re-CRC'd good header refused: %s", e.msg);
    dacc_checkpoint_free(&c);
}

/* A FIFO in place of the checkpoint fails at once instead of blocking
 * (SIGALRM ends a blocked run, which ctest counts as a failure). */
static void fifo_refused(const char *dir) {
    char p[600];
    snprintf(p, sizeof p, "%s/fifo.dacc", dir);
    CHECK(mkfifo(p, 0600) == 0, "mkfifo %s", p);
    alarm(20);
    expect_refused(p, "fifo", "not a regular file");
    alarm(0);
}

int main(void) {
    uint64_t seed = test_seed();
    const char *dir = test_tmpdir();
    char path[512], bad[512], npz[512];
    snprintf(path, sizeof path, "%s/a.dacc", dir);
    snprintf(bad, sizeof bad, "%s/bad.dacc", dir);
    snprintf(npz, sizeof npz, "%s/a.npz", dir);
    for (int vi = 0; vi < DACC_N_PRESETS; vi++) {
        dacc_train_config cfg;
        dacc_train_config_default(&cfg);
        dacc_variant_preset(dacc_preset_names[vi], &cfg.variant);
        cfg.seed = seed % 100000;
        dacc_model a, b;
        dacc_err e;
        if (dacc_model_init(&a, &cfg.variant, 8, 1, cfg.seed, &e) || dacc_model_init(&b, &cfg.variant, 8, 1, cfg.seed + 1, &e)) {
            CHECK(0, "init: %s", e.msg);
            return test_finish();
        }
        /* one training step so Adam moments, running stats and counters are non-trivial */
        uint8_t img[8 * 784], lab[8];
        uint64_t s = seed + vi;
        for (int i = 0; i < 8 * 784; i++) img[i] = (uint8_t)(test_rand_u64(&s) & 255);
        for (int i = 0; i < 8; i++) lab[i] = (uint8_t)(test_rand_u64(&s) % 10);
        dacc_model_forward(&a, img, 8, 1, 7);
        dacc_model_loss(&a, lab, 8, 0, NULL);
        dacc_model_backward(&a, 8);
        dacc_model_adam_step(&a, 1e-3f);
        CHECK(!same_model(&a, &b, 1), "%s: models differ before loading", cfg.variant.name);
        CHECK(dacc_checkpoint_save(path, &a, &cfg, 3, &e) == 0, "save: %s", e.msg);
        dacc_checkpoint c;
        CHECK(dacc_checkpoint_read(path, &c, &e) == 0, "read: %s", e.msg);
        CHECK(c.epochs_done == 3 && c.cfg.seed == cfg.seed && !strcmp(c.cfg.variant.name, cfg.variant.name) &&
                  c.cfg.variant.pool == cfg.variant.pool && c.cfg.variant.bn == cfg.variant.bn,
              "%s: header round trip", cfg.variant.name);
        CHECK(dacc_checkpoint_apply(&c, &b, 1, path, &e) == 0, "apply: %s", e.msg);
        CHECK(same_model(&a, &b, 1), "%s: every tensor restored bit for bit", cfg.variant.name);
        dacc_checkpoint_free(&c);

        /* a checkpoint of another variant does not fit */
        dacc_model other;
        dacc_variant ov;
        dacc_variant_preset(vi == 4 ? "Original" : "ConvPool", &ov);
        dacc_model_init(&other, &ov, 8, 1, 1, &e);
        CHECK(dacc_checkpoint_read(path, &c, &e) == 0, "re-read");
        int rc = dacc_checkpoint_apply(&c, &other, 1, path, &e);
        CHECK(rc != 0 && strstr(e.msg, path), "%s into %s refused: %s", cfg.variant.name, ov.name, e.msg);
        dacc_checkpoint_free(&c);
        dacc_model_free(&other);

        /* export -> import is lossless and restores predictions */
        dacc_model d;
        dacc_model_init(&d, &cfg.variant, 8, 1, cfg.seed + 2, &e);
        CHECK(dacc_export_npz(&a, npz, &e) == 0, "export: %s", e.msg);
        CHECK(dacc_import_npz(&d, npz, &e) == 0, "import: %s", e.msg);
        CHECK(same_model(&a, &d, 0), "%s: npz round trip", cfg.variant.name);
        float la[80], ld[80];
        memcpy(la, dacc_model_forward(&a, img, 8, 0, 0), sizeof la);
        memcpy(ld, dacc_model_forward(&d, img, 8, 0, 0), sizeof ld);
        CHECK(!memcmp(la, ld, sizeof la), "%s: same eval logits after import", cfg.variant.name);
        dacc_model_free(&d);
        dacc_model_free(&a);
        dacc_model_free(&b);
    }

    /* damage: every corruption is refused */
    long n;
    unsigned char *good = read_all(path, &n);
    CHECK(good && n > 1000, "checkpoint size %ld", n);
    if (!good) return test_finish();
    write_bytes(bad, good, (size_t)n / 2);
    expect_refused(bad, "truncated", "damaged");
    uint64_t s = seed;
    for (int k = 0; k < 20; k++) {
        unsigned char *copy = malloc((size_t)n);
        memcpy(copy, good, (size_t)n);
        copy[12 + test_rand_u64(&s) % (uint64_t)(n - 12)] ^= (unsigned char)(1 + test_rand_u64(&s) % 255);
        write_bytes(bad, copy, (size_t)n);
        expect_refused(bad, "bit flip", NULL);
        free(copy);
    }
    unsigned char foreign[64] = "PK\x03\x04 this is a zip, not a checkpoint";
    write_bytes(bad, foreign, sizeof foreign);
    expect_refused(bad, "foreign file", "not a dacc checkpoint");
    memcpy(good + 8, "\x63\x00\x00\x00", 4);
    write_bytes(bad, good, (size_t)n);
    expect_refused(bad, "future version", "version");
    memcpy(good + 8, "\x01\x00\x00\x00", 4);
    header_fields(good, n, bad);
    write_bytes(bad, "", 0);
    expect_refused(bad, "empty file", NULL);
    fifo_refused(dir);
    snprintf(bad, sizeof bad, "%s/missing.dacc", dir);
    expect_refused(bad, "missing file", NULL);
    free(good);

    /* an interrupted save leaves the previous checkpoint intact */
    char tmp[600];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    write_bytes(tmp, "half-written", 12);
    dacc_checkpoint c;
    dacc_err e;
    CHECK(dacc_checkpoint_read(path, &c, &e) == 0, "previous checkpoint still valid after a stray temp file");
    dacc_checkpoint_free(&c);
    return test_finish();
}
