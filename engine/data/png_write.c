/* PNG writer (see data/png.h): signature, IHDR, one IDAT holding the zlib
 * stream of the filtered rows (filter byte 0 per row), IEND; each chunk's
 * CRC-32 from zlib's crc32 over its type and data. */
#include "data/png.h"
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

static void be32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* Writes one chunk at O: length, type, data, CRC; returns the bytes used. */
static size_t chunk(uint8_t *o, const char *type, const uint8_t *data, uint32_t len) {
    be32(o, len);
    memcpy(o + 4, type, 4);
    if (len) memcpy(o + 8, data, len);
    uLong c = crc32(0L, Z_NULL, 0);
    c = crc32(c, o + 4, 4 + len);
    be32(o + 8 + len, (uint32_t)c);
    return 12 + (size_t)len;
}

uint8_t *dacc_png_gray8(const uint8_t *px, int w, int h, size_t *n) {
    if (!px || w < 1 || h < 1 || w > 4096 || h > 4096) return NULL;
    size_t raw_n = (size_t)h * ((size_t)w + 1);
    uint8_t *raw = malloc(raw_n);
    uLongf z_n = compressBound((uLong)raw_n);
    uint8_t *z = malloc(z_n);
    uint8_t *out = malloc(8 + 25 + 12 + z_n + 12);
    if (!raw || !z || !out) goto fail;
    for (int y = 0; y < h; y++) {
        raw[(size_t)y * ((size_t)w + 1)] = 0; /* filter: none */
        memcpy(raw + (size_t)y * ((size_t)w + 1) + 1, px + (size_t)y * (size_t)w, (size_t)w);
    }
    if (compress2(z, &z_n, raw, (uLong)raw_n, 9) != Z_OK) goto fail;
    static const uint8_t sig[8] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
    uint8_t ihdr[13];
    be32(ihdr, (uint32_t)w);
    be32(ihdr + 4, (uint32_t)h);
    ihdr[8] = 8;  /* bit depth */
    ihdr[9] = 0;  /* greyscale */
    ihdr[10] = ihdr[11] = ihdr[12] = 0; /* deflate, adaptive filters, no interlace */
    size_t k = 0;
    memcpy(out, sig, 8);
    k = 8;
    k += chunk(out + k, "IHDR", ihdr, 13);
    k += chunk(out + k, "IDAT", z, (uint32_t)z_n);
    k += chunk(out + k, "IEND", NULL, 0);
    free(raw);
    free(z);
    *n = k;
    return out;
fail:
    free(raw);
    free(z);
    free(out);
    return NULL;
}

char *dacc_base64(const uint8_t *b, size_t n) {
    static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    char *o = malloc((n + 2) / 3 * 4 + 1);
    if (!o) return NULL;
    size_t k = 0;
    for (size_t i = 0; i < n; i += 3) {
        uint32_t v = (uint32_t)b[i] << 16;
        if (i + 1 < n) v |= (uint32_t)b[i + 1] << 8;
        if (i + 2 < n) v |= b[i + 2];
        o[k++] = tab[(v >> 18) & 63];
        o[k++] = tab[(v >> 12) & 63];
        o[k++] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
        o[k++] = i + 2 < n ? tab[v & 63] : '=';
    }
    o[k] = 0;
    return o;
}
