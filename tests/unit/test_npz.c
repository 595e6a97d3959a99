/* npz reader and writer: round trips (stored, deflate, forced ZIP64),
 * streaming reads at random offsets, zips built by hand here (data
 * descriptors, npy v1/v2/v3 headers, malformed files), conversions, and
 * random corruption that must give errors, never crashes. */
#include "dacc/npz.h"
#include "harness.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static const char *tpath(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }

static void write_file(const char *path, const void *b, size_t n) {
    FILE *f = fopen(path, "wb");
    if (n) fwrite(b, 1, n, f);
    fclose(f);
}

static uint8_t *read_file(const char *path, size_t *n) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long l = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc((size_t)l + 1);
    *n = fread(b, 1, (size_t)l, f);
    fclose(f);
    return b;
}

/* An npy file in memory: version major, header dict text, then payload. */
static size_t make_npy(uint8_t *out, int major, const char *dict, const void *data, size_t len) {
    size_t pre = major == 1 ? 10 : 12;
    size_t dl = strlen(dict);
    size_t total = (pre + dl + 1 + 63) / 64 * 64;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = (uint8_t)major;
    out[7] = 0;
    if (major == 1) put16(out + 8, (uint16_t)(total - pre));
    else put32(out + 8, (uint32_t)(total - pre));
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', total - pre - dl - 1);
    out[total - 1] = '\n';
    memcpy(out + total, data, len);
    return total + len;
}

typedef struct {
    const char *name;
    const uint8_t *data;
    size_t len;
    int deflate;
    int dd; /* general-purpose bit 3: sizes and CRC after the data */
} zmem;

/* A zip built by hand (no ZIP64). Returns its size. */
static size_t build_zip(uint8_t *out, const zmem *m, int n) {
    size_t pos = 0, lho[16], csz[16];
    uint32_t crc[16];
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(m[i].name);
        crc[i] = (uint32_t)crc32(0, m[i].data, (uInt)m[i].len);
        lho[i] = pos;
        uint8_t *h = out + pos;
        memset(h, 0, 30);
        put32(h, 0x04034b50);
        put16(h + 4, 20);
        put16(h + 6, m[i].dd ? 8 : 0);
        put16(h + 8, m[i].deflate ? 8 : 0);
        put16(h + 26, (uint16_t)nl);
        memcpy(h + 30, m[i].name, nl);
        pos += 30 + nl;
        if (m[i].deflate) {
            z_stream zs = {0};
            deflateInit2(&zs, 6, Z_DEFLATED, -15, 8, Z_DEFAULT_STRATEGY);
            zs.next_in = (Bytef *)(uintptr_t)m[i].data;
            zs.avail_in = (uInt)m[i].len;
            zs.next_out = out + pos;
            zs.avail_out = (uInt)(m[i].len + 1024);
            deflate(&zs, Z_FINISH);
            csz[i] = zs.total_out;
            deflateEnd(&zs);
        } else {
            memcpy(out + pos, m[i].data, m[i].len);
            csz[i] = m[i].len;
        }
        pos += csz[i];
        if (!m[i].dd) {
            put32(h + 14, crc[i]);
            put32(h + 18, (uint32_t)csz[i]);
            put32(h + 22, (uint32_t)m[i].len);
        } else {
            put32(out + pos, 0x08074b50);
            put32(out + pos + 4, crc[i]);
            put32(out + pos + 8, (uint32_t)csz[i]);
            put32(out + pos + 12, (uint32_t)m[i].len);
            pos += 16;
        }
    }
    size_t cd = pos;
    for (int i = 0; i < n; i++) {
        size_t nl = strlen(m[i].name);
        uint8_t *h = out + pos;
        memset(h, 0, 46);
        put32(h, 0x02014b50);
        put16(h + 4, 20);
        put16(h + 6, 20);
        put16(h + 8, m[i].dd ? 8 : 0);
        put16(h + 10, m[i].deflate ? 8 : 0);
        put32(h + 16, crc[i]);
        put32(h + 20, (uint32_t)csz[i]);
        put32(h + 24, (uint32_t)m[i].len);
        put16(h + 28, (uint16_t)nl);
        put32(h + 42, (uint32_t)lho[i]);
        memcpy(h + 46, m[i].name, nl);
        pos += 46 + nl;
    }
    uint8_t *q = out + pos;
    memset(q, 0, 22);
    put32(q, 0x06054b50);
    put16(q + 8, (uint16_t)n);
    put16(q + 10, (uint16_t)n);
    put32(q + 12, (uint32_t)(pos - cd));
    put32(q + 16, (uint32_t)cd);
    return pos + 22;
}

/* Opening must fail and the message must name the file and contain what. */
static void expect_open_error(const char *path, const char *what) {
    dacc_npz *z = (dacc_npz *)1;
    dacc_err e = {{0}};
    int rc = dacc_npz_open(path, &z, &e);
    CHECK(rc == -1 && z == NULL, "%s: expected open to fail (%s)", path, what);
    const char *base = strrchr(path, '/') + 1;
    CHECK(strstr(e.msg, base) != NULL, "%s: error does not name the file: %s", base, e.msg);
    CHECK(strstr(e.msg, what) != NULL, "%s: error lacks '%s': %s", base, what, e.msg);
    if (rc == 0) dacc_npz_close(z);
}

static int has_sig(const uint8_t *b, size_t n, uint32_t sig) {
    for (size_t i = 0; i + 4 <= n; i++)
        if ((uint32_t)(b[i] | b[i + 1] << 8 | b[i + 2] << 16 | (uint32_t)b[i + 3] << 24) == sig)
            return 1;
    return 0;
}

static void round_trip(int compress, int force64, uint64_t *rng) {
    const char *path = tpath(force64 ? (compress ? "rt-z64-deflate.npz" : "rt-z64-stored.npz")
                                     : (compress ? "rt-deflate.npz" : "rt-stored.npz"));
    dacc_err e = {{0}};
    enum { NI = 13, H = 28, W = 28 };
    static uint8_t img[NI * H * W];
    float f4[37];
    double f8[5] = {0, 1, 2.5, -3, 1e300};
    int32_t i4[6] = {-5, 0, 7, 255, 100000, -2147483647 - 1};
    uint8_t b1[4] = {1, 0, 0, 1};
    double scalar = 42;
    for (size_t i = 0; i < sizeof img; i++) img[i] = (uint8_t)(test_rand_u64(rng) % 7 * 40);
    for (int i = 0; i < 37; i++) f4[i] = test_rand_uniform(rng, -10, 10);

    dacc_npz_writer *w;
    CHECK(dacc_npz_writer_open(path, compress, &w, &e) == 0, "writer open: %s", e.msg);
    if (force64) dacc_npz_writer_force_zip64(w);
    int64_t s3[3] = {NI, H, W}, s1[1] = {37}, s5[1] = {5}, s23[2] = {2, 3}, s4[1] = {4};
    CHECK(dacc_npz_writer_add(w, "x", "|u1", 3, s3, img, &e) == 0, "add x: %s", e.msg);
    CHECK(dacc_npz_writer_add(w, "w.npy", "<f4", 1, s1, f4, &e) == 0, "add w: %s", e.msg);
    /* streamed in odd chunks */
    CHECK(dacc_npz_writer_begin(w, "d", "<f8", 1, s5, &e) == 0, "begin d: %s", e.msg);
    CHECK(dacc_npz_writer_write(w, f8, 3, &e) == 0, "write d: %s", e.msg);
    CHECK(dacc_npz_writer_write(w, (uint8_t *)f8 + 3, 37, &e) == 0, "write d: %s", e.msg);
    CHECK(dacc_npz_writer_end(w, &e) == 0, "end d: %s", e.msg);
    CHECK(dacc_npz_writer_add(w, "i", "<i4", 2, s23, i4, &e) == 0, "add i: %s", e.msg);
    CHECK(dacc_npz_writer_add(w, "b", "|b1", 1, s4, b1, &e) == 0, "add b: %s", e.msg);
    CHECK(dacc_npz_writer_add(w, "s", "<f8", 0, NULL, &scalar, &e) == 0, "add s: %s", e.msg);
    CHECK(dacc_npz_writer_add(w, "x", "|u1", 3, s3, img, &e) == -1 && strstr(e.msg, "twice"),
          "duplicate member refused: %s", e.msg);
    CHECK(dacc_npz_writer_close(w, &e) == 0, "close: %s", e.msg);
    CHECK(access(tpath(force64 ? (compress ? "rt-z64-deflate.npz.tmp" : "rt-z64-stored.npz.tmp")
                               : (compress ? "rt-deflate.npz.tmp" : "rt-stored.npz.tmp")),
                 F_OK) != 0,
          "temp file gone after close");

    size_t flen;
    uint8_t *fb = read_file(path, &flen);
    CHECK(fb && has_sig(fb, flen, 0x06064b50) == force64, "ZIP64 record present iff forced");
    free(fb);

    dacc_npz *z;
    CHECK(dacc_npz_open(path, &z, &e) == 0, "open %s: %s", path, e.msg);
    if (!z) return;
    CHECK(dacc_npz_count(z) == 6, "6 arrays, got %d", dacc_npz_count(z));
    const dacc_npy_array *x = dacc_npz_find(z, "x.npy"), *wa = dacc_npz_find(z, "w");
    const dacc_npy_array *d = dacc_npz_find(z, "d"), *ia = dacc_npz_find(z, "i");
    const dacc_npy_array *ba = dacc_npz_find(z, "b"), *sa = dacc_npz_find(z, "s");
    CHECK(x && wa && d && ia && ba && sa && !dacc_npz_find(z, "nope"), "find all");
    if (!(x && wa && d && ia && ba && sa)) {
        dacc_npz_close(z);
        return;
    }
    CHECK(x->ndim == 3 && x->shape[0] == NI && x->shape[1] == H && x->shape[2] == W &&
              x->count == NI * H * W && !strcmp(x->dtype, "|u1"),
          "x meta");
    CHECK(ia->ndim == 2 && ia->shape[0] == 2 && ia->shape[1] == 3 && !strcmp(ia->dtype, "<i4"),
          "i meta");
    CHECK(sa->ndim == 0 && sa->count == 1, "scalar meta");
    static uint8_t got[NI * H * W];
    CHECK(dacc_npz_read_u8(z, x, 0, x->count, got, &e) == 0 && !memcmp(got, img, sizeof img),
          "x content: %s", e.msg);
    float gf[37];
    CHECK(dacc_npz_read_f32(z, wa, 0, 37, gf, &e) == 0 && !memcmp(gf, f4, sizeof f4),
          "w content");
    double gd[37];
    CHECK(dacc_npz_read_f64(z, d, 0, 5, gd, &e) == 0 && !memcmp(gd, f8, sizeof f8), "d content");
    /* conversions */
    CHECK(dacc_npz_read_f64(z, wa, 10, 3, gd, &e) == 0 && gd[0] == (double)f4[10] &&
              gd[2] == (double)f4[12],
          "f4 -> f64");
    CHECK(dacc_npz_read_f32(z, d, 1, 2, gf, &e) == 0 && gf[0] == 1.0f && gf[1] == 2.5f,
          "f8 -> f32");
    CHECK(dacc_npz_read_f32(z, x, 5, 3, gf, &e) == 0 && gf[0] == img[5] && gf[2] == img[7],
          "u1 -> f32");
    CHECK(dacc_npz_read_f64(z, ia, 0, 6, gd, &e) == 0 && gd[0] == -5 && gd[5] == -2147483648.0,
          "i4 -> f64");
    int64_t gi[6];
    CHECK(dacc_npz_read_i64(z, ia, 0, 6, gi, &e) == 0 && gi[4] == 100000, "i4 -> i64");
    uint8_t gu[6];
    CHECK(dacc_npz_read_u8(z, ia, 1, 3, gu, &e) == 0 && gu[0] == 0 && gu[1] == 7 && gu[2] == 255,
          "i4 -> u8 in range: %s", e.msg);
    CHECK(dacc_npz_read_u8(z, ia, 0, 1, gu, &e) == -1 && strstr(e.msg, "element 0 is -5"),
          "i4 -5 -> u8 refused: %s", e.msg);
    CHECK(dacc_npz_read_u8(z, ia, 4, 1, gu, &e) == -1 && strstr(e.msg, "element 4"),
          "i4 100000 -> u8 refused: %s", e.msg);
    CHECK(dacc_npz_read_u8(z, d, 0, 2, gu, &e) == 0 && gu[0] == 0 && gu[1] == 1, "f8 -> u8");
    CHECK(dacc_npz_read_u8(z, d, 2, 1, gu, &e) == -1 && strstr(e.msg, "2.5"),
          "f8 2.5 -> u8 refused: %s", e.msg);
    CHECK(dacc_npz_read_u8(z, d, 3, 1, gu, &e) == -1, "f8 -3 -> u8 refused");
    CHECK(dacc_npz_read_u8(z, ba, 0, 4, gu, &e) == 0 && gu[0] == 1 && gu[1] == 0 && gu[3] == 1,
          "b1 -> u8");
    CHECK(dacc_npz_read_f64(z, sa, 0, 1, gd, &e) == 0 && gd[0] == 42, "scalar");
    CHECK(dacc_npz_read_u8(z, x, x->count - 2, 3, gu, &e) == -1 && strstr(e.msg, "out of range"),
          "read past end refused: %s", e.msg);
    CHECK(dacc_npz_read_u8(z, x, -1, 1, gu, &e) == -1, "negative first refused");
    dacc_npz_close(z);
}

/* A bigger deflated array read at random offsets, forwards and backwards. */
static void streaming(int compress, uint64_t *rng) {
    const char *path = tpath(compress ? "stream-deflate.npz" : "stream-stored.npz");
    dacc_err e = {{0}};
    int64_t n = 700001;
    uint8_t *data = malloc((size_t)n);
    for (int64_t i = 0; i < n; i++)
        data[i] = (uint8_t)((i * 7 + (int64_t)(test_rand_u64(rng) % 3)) & 0xff);
    dacc_npz_writer *w;
    int64_t shape[1] = {n};
    CHECK(dacc_npz_writer_open(path, compress, &w, &e) == 0, "open: %s", e.msg);
    CHECK(dacc_npz_writer_begin(w, "big", "|u1", 1, shape, &e) == 0, "begin: %s", e.msg);
    for (int64_t i = 0; i < n;) {
        int64_t k = (int64_t)(test_rand_u64(rng) % 100000) + 1;
        if (k > n - i) k = n - i;
        CHECK(dacc_npz_writer_write(w, data + i, (size_t)k, &e) == 0, "write: %s", e.msg);
        i += k;
    }
    CHECK(dacc_npz_writer_end(w, &e) == 0, "end: %s", e.msg);
    CHECK(dacc_npz_writer_close(w, &e) == 0, "close: %s", e.msg);
    dacc_npz *z;
    CHECK(dacc_npz_open(path, &z, &e) == 0, "open: %s", e.msg);
    if (!z) {
        free(data);
        return;
    }
    const dacc_npy_array *a = dacc_npz_find(z, "big");
    uint8_t *buf = malloc(70000);
    int bad = 0;
    for (int t = 0; t < 60; t++) {
        int64_t first = (int64_t)(test_rand_u64(rng) % (uint64_t)n);
        int64_t cnt = (int64_t)(test_rand_u64(rng) % 70000);
        if (cnt > n - first) cnt = n - first;
        if (dacc_npz_read_u8(z, a, first, cnt, buf, &e) || memcmp(buf, data + first, (size_t)cnt))
            bad++;
        /* also through the converting path */
        float fb[100];
        int64_t c2 = cnt < 100 ? cnt : 100;
        if (dacc_npz_read_f32(z, a, first, c2, fb, &e)) bad++;
        for (int64_t k = 0; k < c2; k++)
            if (fb[k] != data[first + k]) bad++;
    }
    CHECK(bad == 0, "%s: %d random reads differ (%s)", path, bad, e.msg);
    free(buf);
    dacc_npz_close(z);
    free(data);
}

/* A sparse file with one stored member whose local header sits beyond 4 GiB:
 * only the offset is saturated in the central directory, so the ZIP64 extra
 * holds that one field. Returns 0 if the file system cannot do it. */
static int build_far_zip(const char *path, const uint8_t *npy, size_t nl) {
    uint64_t lho = (uint64_t)5 << 30;
    FILE *f = fopen(path, "wb");
    if (!f) return 0;
    uint8_t b[1024];
    size_t pos = 0;
    uint32_t crc = (uint32_t)crc32(0, npy, (uInt)nl);
    memset(b, 0, 30);
    put32(b, 0x04034b50);
    put16(b + 4, 45);
    put32(b + 14, crc);
    put32(b + 18, (uint32_t)nl);
    put32(b + 22, (uint32_t)nl);
    put16(b + 26, 7);
    memcpy(b + 30, "far.npy", 7);
    pos = 37;
    memcpy(b + pos, npy, nl);
    pos += nl;
    uint64_t cd = lho + pos;
    uint8_t *h = b + pos;
    memset(h, 0, 46);
    put32(h, 0x02014b50);
    put16(h + 4, 45);
    put16(h + 6, 45);
    put32(h + 16, crc);
    put32(h + 20, (uint32_t)nl);
    put32(h + 24, (uint32_t)nl);
    put16(h + 28, 7);
    put16(h + 30, 12);
    put32(h + 42, 0xFFFFFFFF);
    memcpy(h + 46, "far.npy", 7);
    put16(h + 53, 1);
    put16(h + 55, 8);
    put32(h + 57, (uint32_t)lho);
    put32(h + 61, (uint32_t)(lho >> 32));
    pos += 46 + 7 + 12;
    uint64_t cd_size = lho + pos - cd, eocd64 = lho + pos;
    uint8_t *r = b + pos;
    memset(r, 0, 56 + 20 + 22);
    put32(r, 0x06064b50);
    put32(r + 4, 44);
    put16(r + 12, 45);
    put16(r + 14, 45);
    put32(r + 24, 1);
    put32(r + 32, 1);
    put32(r + 40, (uint32_t)cd_size);
    put32(r + 48, (uint32_t)cd);
    put32(r + 52, (uint32_t)(cd >> 32));
    put32(r + 56, 0x07064b50);
    put32(r + 64, (uint32_t)eocd64);
    put32(r + 68, (uint32_t)(eocd64 >> 32));
    put32(r + 72, 1);
    put32(r + 76, 0x06054b50);
    put16(r + 84, 1);
    put16(r + 86, 1);
    put32(r + 88, (uint32_t)cd_size);
    put32(r + 92, 0xFFFFFFFF);
    pos += 56 + 20 + 22;
    int ok = fseeko(f, (off_t)lho, SEEK_SET) == 0 && fwrite(b, 1, pos, f) == pos;
    ok = (fclose(f) == 0) && ok;
    return ok;
}

/* An archive of n stored one-byte arrays "a<i>.npy"; if dup, the last one
 * repeats the first one's name. Returns its size (out: big enough). */
static size_t many_members(uint8_t *out, int n, int dup) {
    uint8_t npy[256];
    size_t nl = make_npy(npy, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (1,), }",
                         "\x2a", 1);
    uint32_t crc = (uint32_t)crc32(0, npy, (uInt)nl);
    size_t pos = 0;
    size_t *lho = malloc((size_t)n * sizeof *lho);
    char name[32];
    for (int pass = 0; pass < 2; pass++) {
        size_t cd = pos;
        for (int i = 0; i < n; i++) {
            int len = snprintf(name, sizeof name, "a%d.npy", dup && i == n - 1 ? 0 : i);
            uint8_t *h = out + pos;
            size_t hl = pass ? 46 : 30;
            memset(h, 0, hl);
            put32(h, pass ? 0x02014b50 : 0x04034b50);
            int o = pass ? 2 : 0; /* central entries have "version made by" first */
            put16(h + 4 + o, 20);
            put32(h + 14 + o, crc);
            put32(h + 18 + o, (uint32_t)nl);
            put32(h + 22 + o, (uint32_t)nl);
            put16(h + 26 + o, (uint16_t)len);
            if (pass) put32(h + 42, (uint32_t)lho[i]);
            else lho[i] = pos;
            memcpy(h + hl, name, (size_t)len);
            pos += hl + (size_t)len;
            if (!pass) {
                memcpy(out + pos, npy, nl);
                pos += nl;
            }
        }
        if (pass) {
            uint8_t *q = out + pos;
            memset(q, 0, 22);
            put32(q, 0x06054b50);
            put16(q + 8, (uint16_t)n);
            put16(q + 10, (uint16_t)n);
            put32(q + 12, (uint32_t)(pos - cd));
            put32(q + 16, (uint32_t)cd);
            pos += 22;
        }
    }
    free(lho);
    return pos;
}

/* Bounds from the file: many members, duplicates found wherever they are,
 * a deflate member claiming more than deflate can produce, a FIFO. */
static void bounds(void) {
    dacc_err e = {{0}};
    enum { N = 60000 };
    /* n log n open and O(1) member lookup take about a second here; the
     * quadratic versions ran past two minutes: SIGALRM ends such a run */
    alarm(120);
    uint8_t *zip = malloc((size_t)N * 300);
    size_t zl = many_members(zip, N, 0);
    write_file(tpath("many.npz"), zip, zl);
    dacc_npz *z = NULL;
    CHECK(dacc_npz_open(tpath("many.npz"), &z, &e) == 0 && dacc_npz_count(z) == N,
          "%d members: %s", N, e.msg);
    if (z) {
        int64_t sum = 0;
        for (int i = 0; i < N; i++) {
            int64_t v = 0;
            if (dacc_npz_read_i64(z, dacc_npz_array(z, i), 0, 1, &v, &e) == 0) sum += v;
        }
        CHECK(sum == 42LL * N, "every member read back (sum %lld)", (long long)sum);
        CHECK(dacc_npz_find(z, "a59999") == dacc_npz_array(z, N - 1), "find the last member");
        dacc_npz_close(z);
    }
    zl = many_members(zip, N, 1);
    write_file(tpath("dup-far.npz"), zip, zl);
    expect_open_error(tpath("dup-far.npz"), "a0.npy appears twice");
    alarm(0);
    free(zip);

    /* a deflate member whose directory size needs a ratio above 1032:1 */
    static uint8_t npy[256], big[1024];
    size_t nl = make_npy(npy, 1, "{'descr': '|u1', 'fortran_order': False, 'shape': (4,), }",
                         "abcd", 4);
    zmem m = {"x.npy", npy, nl, 1, 0};
    zl = build_zip(big, &m, 1);
    size_t cd = zl - 22 - 46 - 5;
    put32(big + cd + 24, 0xF0000000u);
    write_file(tpath("ratio.npz"), big, zl);
    expect_open_error(tpath("ratio.npz"), "cannot inflate");

    CHECK(mkfifo(tpath("fifo.npz"), 0600) == 0, "mkfifo");
    alarm(20); /* a blocked open ends the run: ctest counts it as a failure */
    expect_open_error(tpath("fifo.npz"), "not a regular file");
    alarm(0);
}

int main(void) {
    uint64_t rng = test_seed();
    dacc_err e = {{0}};
    for (int c = 0; c < 2; c++)
        for (int f = 0; f < 2; f++) round_trip(c, f, &rng);
    streaming(0, &rng);
    streaming(1, &rng);
    bounds();

    static uint8_t npy[1 << 16], zip[1 << 17];
    float vals[6] = {1, 2, 3, 4, 5, 6.5f};
    const char *dict_ok = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";

    /* npy header versions 1, 2, 3; Python-2 longs in the shape */
    for (int v = 1; v <= 3; v++) {
        size_t nl = make_npy(npy, v, v == 2 ? "{'descr': '<f4', 'fortran_order': False, "
                                              "'shape': (2L, 3L), }"
                                            : dict_ok,
                             vals, sizeof vals);
        zmem m = {"arr.npy", npy, nl, v == 3, 0};
        size_t zl = build_zip(zip, &m, 1);
        char name[64];
        snprintf(name, sizeof name, "npyv%d.npz", v);
        write_file(tpath(name), zip, zl);
        dacc_npz *z;
        float got[6];
        CHECK(dacc_npz_open(tpath(name), &z, &e) == 0, "v%d open: %s", v, e.msg);
        if (z) {
            const dacc_npy_array *a = dacc_npz_find(z, "arr");
            CHECK(a && a->ndim == 2 && a->shape[0] == 2 && a->shape[1] == 3, "v%d shape", v);
            CHECK(a && dacc_npz_read_f32(z, a, 0, 6, got, &e) == 0 && !memcmp(got, vals, 24),
                  "v%d data: %s", v, e.msg);
            dacc_npz_close(z);
        }
    }

    /* 64-bit offsets: a member beyond 4 GiB in a sparse file */
    {
        size_t nl = make_npy(npy, 1, dict_ok, vals, sizeof vals);
        const char *p = tpath("far.npz");
        if (!build_far_zip(p, npy, nl)) {
            SKIP("cannot write a sparse 5 GiB file here");
        } else {
            dacc_npz *z;
            float got[6];
            CHECK(dacc_npz_open(p, &z, &e) == 0, "far open: %s", e.msg);
            if (z) {
                const dacc_npy_array *a = dacc_npz_find(z, "far");
                CHECK(a && dacc_npz_read_f32(z, a, 0, 6, got, &e) == 0 && got[5] == 6.5f &&
                          got[0] == 1,
                      "far read: %s", e.msg);
                dacc_npz_close(z);
            }
        }
        unlink(p);
    }

    /* data descriptors (bit 3), stored and deflated, with local sizes zero */
    for (int dfl = 0; dfl < 2; dfl++) {
        size_t nl = make_npy(npy, 1, dict_ok, vals, sizeof vals);
        zmem m[2] = {{"a.npy", npy, nl, dfl, 1}, {"b.npy", npy, nl, !dfl, 1}};
        size_t zl = build_zip(zip, m, 2);
        const char *p = tpath(dfl ? "dd-deflate.npz" : "dd-stored.npz");
        write_file(p, zip, zl);
        dacc_npz *z;
        float got[6];
        CHECK(dacc_npz_open(p, &z, &e) == 0, "dd open: %s", e.msg);
        if (z) {
            const dacc_npy_array *b = dacc_npz_find(z, "b");
            CHECK(b && dacc_npz_read_f32(z, b, 0, 6, got, &e) == 0 && got[5] == 6.5f,
                  "dd b: %s", e.msg);
            const dacc_npy_array *a = dacc_npz_find(z, "a");
            CHECK(a && dacc_npz_read_f32(z, a, 0, 6, got, &e) == 0 && got[0] == 1, "dd a: %s",
                  e.msg);
            dacc_npz_close(z);
        }
    }

    /* bad CRC: flip one payload byte of a stored member; open works, a full read fails */
    {
        size_t nl = make_npy(npy, 1, dict_ok, vals, sizeof vals);
        zmem m = {"c.npy", npy, nl, 0, 0};
        size_t zl = build_zip(zip, &m, 1);
        zip[30 + 5 + nl - 1] ^= 0x40;
        write_file(tpath("badcrc.npz"), zip, zl);
        dacc_npz *z;
        float got[6];
        CHECK(dacc_npz_open(tpath("badcrc.npz"), &z, &e) == 0, "badcrc open: %s", e.msg);
        if (z) {
            const dacc_npy_array *a = dacc_npz_find(z, "c");
            CHECK(dacc_npz_read_f32(z, a, 0, 6, got, &e) == -1 && strstr(e.msg, "CRC") &&
                      strstr(e.msg, "badcrc.npz") && strstr(e.msg, "c.npy"),
                  "CRC mismatch detected: %s", e.msg);
            dacc_npz_close(z);
        }
        /* same for deflate: corrupt the CRC in the central directory */
        zmem md = {"c.npy", npy, nl, 1, 0};
        zl = build_zip(zip, &md, 1);
        size_t cd = zl - 22 - 46 - 5;
        zip[cd + 16] ^= 1;
        write_file(tpath("badcrc-deflate.npz"), zip, zl);
        CHECK(dacc_npz_open(tpath("badcrc-deflate.npz"), &z, &e) == 0, "open: %s", e.msg);
        if (z) {
            const dacc_npy_array *a = dacc_npz_find(z, "c");
            CHECK(dacc_npz_read_f32(z, a, 0, 6, got, &e) == -1 && strstr(e.msg, "CRC"),
                  "deflate CRC mismatch detected: %s", e.msg);
            dacc_npz_close(z);
        }
    }

    /* malformed npy members */
    struct {
        const char *file, *dict, *want;
        int major;
    } bad[] = {
        {"fortran.npz", "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", "fortran", 1},
        {"dtype.npz", "{'descr': '<c8', 'fortran_order': False, 'shape': (2, 3), }", "unsupported dtype", 1},
        {"dtype-str.npz", "{'descr': '<U3', 'fortran_order': False, 'shape': (2, 3), }", "unsupported dtype", 1},
        {"structured.npz", "{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (6,), }", "structured", 1},
        {"shape.npz", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 4), }", "shape/size mismatch", 1},
        {"shape-f8.npz", "{'descr': '<f8', 'fortran_order': False, 'shape': (2, 3), }", "shape/size mismatch", 1},
        {"nodescr.npz", "{'fortran_order': False, 'shape': (2, 3), }", "descr", 1},
        {"junk.npz", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), } x", "junk", 1},
        {"badkey.npz", "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'z': 1}", "unexpected key", 1},
        {"notdict.npz", "descr", "not a dict", 1},
        {"version.npz", dict_ok, "npy version", 4},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t nl = make_npy(npy, bad[i].major, bad[i].dict, vals, sizeof vals);
        zmem m = {"m.npy", npy, nl, (int)(i & 1), 0};
        size_t zl = build_zip(zip, &m, 1);
        write_file(tpath(bad[i].file), zip, zl);
        expect_open_error(tpath(bad[i].file), bad[i].want);
    }
    {
        size_t nl = make_npy(npy, 1, dict_ok, vals, sizeof vals);
        npy[0] = 'X';
        zmem m = {"m.npy", npy, nl, 0, 0};
        write_file(tpath("magic.npz"), zip, build_zip(zip, &m, 1));
        expect_open_error(tpath("magic.npz"), "bad magic");
    }

    /* malformed zips */
    {
        size_t nl = make_npy(npy, 1, dict_ok, vals, sizeof vals);
        zmem m[2] = {{"a.npy", npy, nl, 1, 0}, {"b.npy", npy, nl, 0, 0}};
        size_t zl = build_zip(zip, m, 2);
        write_file(tpath("good.npz"), zip, zl);
        dacc_npz *z;
        CHECK(dacc_npz_open(tpath("good.npz"), &z, &e) == 0, "good.npz: %s", e.msg);
        dacc_npz_close(z);
        /* EOCD claims more central directory than there is */
        static uint8_t t[1 << 17];
        memcpy(t, zip, zl);
        put32(t + zl - 22 + 12, 5000);
        write_file(tpath("cd-size.npz"), t, zl);
        expect_open_error(tpath("cd-size.npz"), "central directory");
        /* central directory cut: EOCD kept, the second entry's header removed */
        size_t cd1 = zl - 22 - (46 + 5);
        memcpy(t, zip, cd1);
        memcpy(t + cd1, zip + zl - 22, 22);
        write_file(tpath("cd-trunc.npz"), t, cd1 + 22);
        expect_open_error(tpath("cd-trunc.npz"), "central directory");
        /* file cut in the middle: no end record */
        write_file(tpath("cut.npz"), zip, zl / 2);
        expect_open_error(tpath("cut.npz"), "not a zip");
        /* member data runs past the central directory */
        memcpy(t, zip, zl);
        put32(t + zl - 22 - 2 * 51 + 51 + 20, 1 << 20);
        put32(t + zl - 22 - 2 * 51 + 51 + 24, 1 << 20);
        write_file(tpath("member-size.npz"), t, zl);
        expect_open_error(tpath("member-size.npz"), "member-size.npz");
        /* unsupported compression method */
        memcpy(t, zip, zl);
        put16(t + zl - 22 - 2 * 51 + 10, 12);
        write_file(tpath("method.npz"), t, zl);
        expect_open_error(tpath("method.npz"), "method 12");
        write_file(tpath("text.npz"), "this is not a zip file at all, just some text\n", 46);
        expect_open_error(tpath("text.npz"), "not a zip");
        write_file(tpath("empty.npz"), "", 0);
        expect_open_error(tpath("empty.npz"), "not a zip");
        expect_open_error(tpath("missing.npz"), "cannot open");

        /* random corruption: anything may happen except a crash */
        int opened = 0;
        for (int it = 0; it < 400; it++) {
            memcpy(t, zip, zl);
            int flips = 1 + (int)(test_rand_u64(&rng) % 4);
            for (int k = 0; k < flips; k++)
                t[test_rand_u64(&rng) % zl] ^= (uint8_t)(1 + test_rand_u64(&rng) % 255);
            size_t tl = it % 5 == 0 ? zl - test_rand_u64(&rng) % zl : zl;
            write_file(tpath("fuzz.npz"), t, tl);
            if (dacc_npz_open(tpath("fuzz.npz"), &z, &e) == 0) {
                opened++;
                for (int i = 0; i < dacc_npz_count(z); i++) {
                    const dacc_npy_array *a = dacc_npz_array(z, i);
                    double *dd = malloc((size_t)(a->count ? a->count : 1) * 8);
                    if (a->count < 100000 && dd) dacc_npz_read_f64(z, a, 0, a->count, dd, &e);
                    free(dd);
                }
                dacc_npz_close(z);
            }
        }
        CHECK(1, "corruption survived (%d of 400 still opened)", opened);
    }

    /* files written by numpy (savez / savez_compressed; ZIP64 local extras) */
    {
        char fp[1024];
        dacc_npz *z;
        test_source_path("tests/fixtures/npz_numpy_deflate.npz", fp, sizeof fp);
        CHECK(dacc_npz_open(fp, &z, &e) == 0, "numpy deflate fixture: %s", e.msg);
        if (z) {
            const dacc_npy_array *x = dacc_npz_find(z, "x"), *y = dacc_npz_find(z, "y");
            const dacc_npy_array *i2 = dacc_npz_find(z, "i2"), *be = dacc_npz_find(z, "be");
            const dacc_npy_array *b = dacc_npz_find(z, "b");
            uint8_t u[24];
            double d[3];
            int ok = x && y && i2 && be && b && dacc_npz_count(z) == 5;
            CHECK(ok, "numpy fixture arrays");
            if (ok) {
                CHECK(x->ndim == 3 && x->shape[2] == 4 && dacc_npz_read_u8(z, x, 0, 24, u, &e) == 0 &&
                          u[0] == 0 && u[23] == 23,
                      "numpy x: %s", e.msg);
                CHECK(dacc_npz_read_f64(z, y, 0, 3, d, &e) == 0 && d[2] == 9.0, "numpy y");
                CHECK(dacc_npz_read_f64(z, i2, 0, 2, d, &e) == 0 && d[0] == -3 && d[1] == 300,
                      "numpy i2");
                CHECK(dacc_npz_read_f64(z, be, 0, 2, d, &e) == 0 && d[0] == 1.5 && d[1] == 2.5,
                      "numpy big-endian f8");
                CHECK(dacc_npz_read_u8(z, b, 0, 2, u, &e) == 0 && u[0] == 1 && u[1] == 0,
                      "numpy bool");
            }
            dacc_npz_close(z);
        }
        test_source_path("tests/fixtures/npz_numpy_stored.npz", fp, sizeof fp);
        CHECK(dacc_npz_open(fp, &z, &e) == 0, "numpy stored fixture: %s", e.msg);
        if (z) {
            const dacc_npy_array *x = dacc_npz_find(z, "x");
            uint8_t u[24];
            CHECK(x && dacc_npz_read_u8(z, x, 0, 24, u, &e) == 0 && u[5] == 5 && u[23] == 23,
                  "numpy stored x: %s", e.msg);
            dacc_npz_close(z);
        }
    }

    /* writer misuse */
    {
        dacc_npz_writer *w;
        int64_t s[1] = {10};
        uint8_t d[10] = {0};
        CHECK(dacc_npz_writer_open(tpath("w-short.npz"), 0, &w, &e) == 0, "open");
        CHECK(dacc_npz_writer_begin(w, "a", "<f4", 1, s, &e) == 0, "begin");
        CHECK(dacc_npz_writer_write(w, d, 10, &e) == 0, "write 10 of 40");
        CHECK(dacc_npz_writer_end(w, &e) == -1 && strstr(e.msg, "10 of 40"), "short: %s", e.msg);
        CHECK(dacc_npz_writer_close(w, &e) == -1, "close after failure fails");
        CHECK(access(tpath("w-short.npz"), F_OK) != 0 && access(tpath("w-short.npz.tmp"), F_OK) != 0,
              "nothing left behind");
        CHECK(dacc_npz_writer_open(tpath("w-long.npz"), 1, &w, &e) == 0, "open");
        CHECK(dacc_npz_writer_begin(w, "a", "|u1", 1, s, &e) == 0, "begin");
        uint8_t big[11] = {0};
        CHECK(dacc_npz_writer_write(w, big, 11, &e) == -1 && strstr(e.msg, "11 data bytes"), "long: %s", e.msg);
        dacc_npz_writer_abort(w);
        CHECK(access(tpath("w-long.npz.tmp"), F_OK) != 0, "abort removes temp");
        CHECK(dacc_npz_writer_open(tpath("w-dtype.npz"), 0, &w, &e) == 0, "open");
        CHECK(dacc_npz_writer_add(w, "a", "<c8", 1, s, d, &e) == -1 && strstr(e.msg, "dtype"),
              "bad dtype: %s", e.msg);
        dacc_npz_writer_abort(w);
        CHECK(dacc_npz_writer_open(tpath("no/such/dir/x.npz"), 0, &w, &e) == -1 &&
                  strstr(e.msg, "x.npz.tmp"),
              "unwritable path: %s", e.msg);
    }
    return test_finish();
}
