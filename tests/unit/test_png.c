/* The figures' PNG writer (engine/data/png_write.c) and base64: the file is
 * parsed back independently (signature, chunk lengths and CRCs, IHDR fields,
 * the zlib stream inflated, filter bytes) and must give the pixels written;
 * base64 against RFC 4648's vectors. */
#include "harness.h"
#include "data/png.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static uint32_t be32(const uint8_t *p) {
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Decodes what dacc_png_gray8 writes; 0 ok, else the failing step. */
static int decode(const uint8_t *f, size_t n, int w, int h, uint8_t *px) {
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    if (n < 8 || memcmp(f, sig, 8)) return 1;
    size_t p = 8, raw_n = (size_t)h * ((size_t)w + 1);
    uint8_t *raw = malloc(raw_n);
    int step = 0, seen_end = 0;
    while (!step && p + 12 <= n) {
        uint32_t len = be32(f + p);
        if (p + 12 + len > n) { step = 2; break; }
        const uint8_t *type = f + p + 4, *data = f + p + 8;
        if (crc32(crc32(0, NULL, 0), type, 4 + len) != be32(data + len)) step = 3;
        else if (!memcmp(type, "IHDR", 4))
            step = len != 13 || be32(data) != (uint32_t)w || be32(data + 4) != (uint32_t)h || data[8] != 8 ||
                   data[9] != 0 || data[12] != 0 ? 4 : 0;
        else if (!memcmp(type, "IDAT", 4)) {
            uLongf got = raw_n;
            step = uncompress(raw, &got, data, len) != Z_OK || got != raw_n ? 5 : 0;
        } else if (!memcmp(type, "IEND", 4)) seen_end = 1;
        p += 12 + len;
    }
    if (!step && (!seen_end || p != n)) step = 6;
    for (int y = 0; !step && y < h; y++) {
        if (raw[(size_t)y * ((size_t)w + 1)] != 0) step = 7;
        memcpy(px + (size_t)y * (size_t)w, raw + (size_t)y * ((size_t)w + 1) + 1, (size_t)w);
    }
    free(raw);
    return step;
}

int main(void) {
    uint64_t seed = test_seed();
    static const char *const in[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    static const char *const want[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        char *b = dacc_base64((const uint8_t *)in[i], strlen(in[i]));
        CHECK(b && !strcmp(b, want[i]), "base64(\"%s\") = %s, want %s", in[i], b ? b : "NULL", want[i]);
        free(b);
    }
    int sizes[][2] = {{28, 28}, {1, 1}, {37, 5}, {3, 200}};
    for (int s = 0; s < 4; s++) {
        int w = sizes[s][0], h = sizes[s][1];
        uint8_t *px = malloc((size_t)w * h), *back = calloc((size_t)w * h, 1);
        for (int i = 0; i < w * h; i++) px[i] = (uint8_t)test_rand_u64(&seed);
        size_t n = 0;
        uint8_t *png = dacc_png_gray8(px, w, h, &n);
        int step = png ? decode(png, n, w, h, back) : -1;
        CHECK(step == 0, "%dx%d PNG: decoding failed at step %d", w, h, step);
        CHECK(step == 0 && !memcmp(px, back, (size_t)w * h), "%dx%d PNG: pixels differ", w, h);
        if (png && n > 40) { /* one flipped bit must break a CRC or the stream */
            png[8 + 8 + 3] ^= 1;
            CHECK(decode(png, n, w, h, back) != 0, "%dx%d: a corrupted IHDR is caught", w, h);
        }
        free(png);
        free(px);
        free(back);
    }
    uint8_t one = 0;
    size_t n;
    CHECK(!dacc_png_gray8(&one, 0, 1, &n) && !dacc_png_gray8(&one, 1, 5000, &n) && !dacc_png_gray8(NULL, 1, 1, &n),
          "bad sizes refused");
    return test_finish();
}
