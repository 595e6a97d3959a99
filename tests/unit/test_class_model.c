/* The class-model reader: a model as written loads; every header field and
 * per-class statistic outside its range is refused under a valid CRC (the
 * CRC proves the bytes are intact, not that the writer was sane), with a
 * message naming the file and the field; a FIFO fails at once. */
#include "dacc/align.h"
#include "align/cpab.h"
#include "harness.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static uint8_t *read_all(const char *p, size_t *n) {
    FILE *f = fopen(p, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)l);
    *n = b ? fread(b, 1, (size_t)l, f) : 0;
    fclose(f);
    return b;
}

static void write_all(const char *p, const uint8_t *b, size_t n) {
    FILE *f = fopen(p, "wb");
    if (f) {
        fwrite(b, 1, n, f);
        fclose(f);
    }
}

static void put_le(uint8_t *p, uint64_t v, int bytes) {
    for (int i = 0; i < bytes; i++) p[i] = (uint8_t)(v >> (8 * i));
}

/* good with `bytes` bytes at off replaced by v and the CRC recomputed. */
static void patched(const uint8_t *good, size_t n, const char *out, size_t off, uint64_t v,
                    int bytes) {
    uint8_t *c = malloc(n);
    memcpy(c, good, n);
    put_le(c + off, v, bytes);
    put_le(c + n - 4, (uint32_t)crc32(0L, c, (uInt)(n - 4)), 4);
    write_all(out, c, n);
    free(c);
}

static uint64_t f64_bits(double d) {
    uint64_t u;
    memcpy(&u, &d, 8);
    return u;
}

static void expect_refused(const char *path, const char *what, const char *needle) {
    dacc_align_model m;
    dacc_err e = {""};
    int rc = dacc_align_model_load(path, &m, &e);
    CHECK(rc != 0, "%s: accepted", what);
    if (rc == 0) dacc_align_model_free(&m);
    CHECK(strstr(e.msg, path) != NULL, "%s: message names the file: %s", what, e.msg);
    CHECK(strstr(e.msg, needle) != NULL, "%s: message says '%s': %s", what, needle, e.msg);
}

/* A valid model with the default fit settings (tessellation [4,4]), ten
 * classes, Cholesky factors 0.1 I: written with the model writer, so the
 * offsets below are those of the current format. extra_d != 0: d that much
 * above the tessellation's (the size agrees with d, so only the basis can
 * refuse it). */
static int write_model(const char *path, int extra_d) {
    dacc_align_model m;
    memset(&m, 0, sizeof m);
    dacc_align_settings_default(&m.fit);
    dacc_cpab t;
    dacc_err e;
    if (dacc_cpab_init(&t, m.fit.nx, m.fit.ny, m.fit.zero_boundary, &e)) return -1;
    m.d = t.d + extra_d;
    dacc_cpab_free(&t);
    m.rows = m.cols = 28;
    m.nclasses = DACC_ALIGN_CLASSES;
    m.chol = calloc((size_t)m.nclasses * m.d * m.d, sizeof(double));
    if (!m.chol) return -1;
    for (int k = 0; k < m.nclasses; k++) {
        m.pairs[k] = m.fit.pairs_per_class;
        m.kept[k] = m.pairs[k] - 1;
        m.rms_before[k] = 0.3, m.rms_after[k] = 0.2, m.theta_rms[k] = 0.1;
        for (int i = 0; i < m.d; i++) m.chol[((size_t)k * m.d + i) * m.d + i] = 0.1;
    }
    int rc = dacc_align_model_save(&m, path, &e);
    free(m.chol);
    return rc;
}

int main(void) {
    char src[600], bad[600];
    snprintf(src, sizeof src, "%s/good.bin", test_tmpdir());
    snprintf(bad, sizeof bad, "%s/bad.bin", test_tmpdir());
    CHECK(write_model(src, 0) == 0, "write a model");
    size_t n = 0;
    uint8_t *good = read_all(src, &n);
    CHECK(good && n > 200, "read %s", src);
    if (!good) return test_finish();
    dacc_align_model m;
    dacc_err e;
    CHECK(dacc_align_model_load(src, &m, &e) == 0, "written model: %s", e.msg);
    dacc_align_model_free(&m);
    patched(good, n, bad, 96, 10, 4); /* nsteps 10 again: unchanged bytes, new CRC */
    CHECK(dacc_align_model_load(bad, &m, &e) == 0, "re-CRC'd model: %s", e.msg);
    dacc_align_model_free(&m);

    /* a 16x16 free-boundary tessellation in a small file: refused by the
     * closed form, before any basis is built (fuzz_class_model found a
     * 154-byte file that spent 1.6 s in that basis) */
    {
        uint8_t *c = malloc(n);
        memcpy(c, good, n);
        put_le(c + 28, 16, 4), put_le(c + 32, 16, 4);
        put_le(c + n - 4, (uint32_t)crc32(0L, c, (uInt)(n - 4)), 4);
        write_all(bad, c, n);
        free(c);
        expect_refused(bad, "tessellation 16x16, d of 4x4", "has d >= ");
    }
    /* a free-boundary d above the closed form's bound, its size consistent */
    CHECK(write_model(bad, 2) == 0, "write a model with d + 2");
    expect_refused(bad, "d + 2", "has d = ");

    /* Offsets: magic 8, version 4, rows 12, cols 16, d 20, classes 24, nx 28,
     * ny 32, pairs 36, seed 40 (8), lambda 48, noise 56, blur 64, trim 72,
     * eps 80 (f64), max_iter 88, coarse_to_fine 92, nsteps 96, nsub 100,
     * zero_boundary 104, prior 108, prior length 112 (f64), linear ratio 120
     * (f64), train hash 128 (8), then per class pairs, kept (u32), 3 f64. */
    static const struct { size_t off; uint64_t v; int bytes; const char *field; } cases[] = {
        {96, 0x7fffffff, 4, "nsteps"},   {96, 0, 4, "nsteps"},
        {96, 0xffffffff, 4, "nsteps"},   {100, 0, 4, "nsub"},
        {100, 1u << 30, 4, "nsub"},      {28, 1000, 4, "tessellation"},
        {32, 0, 4, "tessellation"},      {28, 0x80000000u, 4, "tessellation"},
        {12, 1, 4, "image size"},        {16, 29, 4, "image size"},
        {20, 0x7fffffff, 4, "d"},        {20, 50, 4, "d = 50"},
        {24, 0, 4, "classes"},           {24, 11, 4, "classes"},
        {36, 0, 4, "pairs"},             {36, 1u << 31, 4, "pairs"},
        {44, 1, 4, "seed"},              {88, 0xffffffff, 4, "max_iter"},
        {92, 2, 4, "coarse_to_fine"},    {104, 2, 4, "zero_boundary"},
        {108, 2, 4, "prior"},
        {136, 0x7fffffff, 4, "class 0"}, {140, 0xffffffff, 4, "class 0"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        patched(good, n, bad, cases[i].off, cases[i].v, cases[i].bytes);
        char what[80];
        snprintf(what, sizeof what, "%s = %llu at %zu", cases[i].field,
                 (unsigned long long)cases[i].v, cases[i].off);
        expect_refused(bad, what, cases[i].field);
    }
    static const struct { size_t off; double v; const char *field; } fcases[] = {
        {48, NAN, "lambda"}, {48, -1, "lambda"},  {56, 0, "noise"},   {56, INFINITY, "noise"},
        {64, -1, "blur"},    {72, 0.5, "trim"},   {80, NAN, "eps"},   {144, NAN, "class 0"},
        {112, NAN, "prior length"}, {120, -1, "prior linear ratio"},
    };
    for (size_t i = 0; i < sizeof fcases / sizeof fcases[0]; i++) {
        patched(good, n, bad, fcases[i].off, f64_bits(fcases[i].v), 8);
        char what[80];
        snprintf(what, sizeof what, "%s = %g at %zu", fcases[i].field, fcases[i].v,
                 fcases[i].off);
        expect_refused(bad, what, fcases[i].field);
    }
    /* the last Cholesky entry (a diagonal) and one below it: NaN refused */
    patched(good, n, bad, n - 12, f64_bits(NAN), 8);
    expect_refused(bad, "NaN diagonal", "Cholesky");
    patched(good, n, bad, n - 20, f64_bits(NAN), 8);
    expect_refused(bad, "NaN below the diagonal", "Cholesky");

    char fifo[600];
    snprintf(fifo, sizeof fifo, "%s/fifo.bin", test_tmpdir());
    CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
    alarm(20); /* a blocked open ends the run: ctest counts it as a failure */
    expect_refused(fifo, "fifo", "not a regular file");
    alarm(0);
    free(good);
    return test_finish();
}
