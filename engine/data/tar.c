/* The MNIST fetch's tar reader (see tar.h). */
#include "data/tar.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An octal field: optional leading spaces/NULs, digits, then only spaces or
 * NULs. -1 if malformed or above DACC_TAR_MAX_TOTAL (checked before the
 * next multiplication can overflow). */
static int64_t tar_octal(const char *p, int n) {
    int64_t v = 0;
    int i = 0;
    while (i < n && (p[i] == ' ' || p[i] == '\0')) i++;
    if (i == n) return 0;
    for (; i < n && p[i] >= '0' && p[i] <= '7'; i++) {
        v = v * 8 + (p[i] - '0');
        if (v > DACC_TAR_MAX_TOTAL) return -1;
    }
    for (; i < n; i++)
        if (p[i] != ' ' && p[i] != '\0') return -1;
    return v;
}

static int unsafe_path(const char *name) {
    if (name[0] == '/') return 1;
    for (const char *p = name; *p;) {
        const char *s = strchr(p, '/');
        size_t l = s ? (size_t)(s - p) : strlen(p);
        if (l == 2 && p[0] == '.' && p[1] == '.') return 1;
        if (!s) break;
        p = s + 1;
    }
    return 0;
}

/* From a pax extended header body, the "path" record if any. Each record is
 * "<len> key=value\n"; len is bounded by what is left of the body before it
 * is multiplied again, so a 40-digit length cannot overflow. */
static void pax_path(const char *body, int64_t n, char *out, size_t outn) {
    int64_t i = 0;
    while (i < n) {
        int64_t len = 0, j = i;
        while (j < n && body[j] >= '0' && body[j] <= '9') {
            len = len * 10 + (body[j++] - '0');
            if (len > n - i) return;
        }
        if (len <= 0 || j >= n || body[j] != ' ' || j + 1 > i + len) return;
        const char *kv = body + j + 1;
        int64_t kvlen = i + len - (j + 1);
        if (kvlen > 5 && !memcmp(kv, "path=", 5)) {
            int64_t vl = kvlen - 5;
            if (vl > 0 && kv[5 + vl - 1] == '\n') vl--;
            if ((size_t)vl >= outn) vl = (int64_t)outn - 1;
            memcpy(out, kv + 5, (size_t)vl);
            out[vl] = '\0';
        }
        i += len;
    }
}

int dacc_tar_read(gzFile f, const char *path, void *dst, unsigned n, dacc_err *e) {
    int r = gzread(f, dst, n);
    if (r == (int)n) return 0;
    int zerr;
    const char *msg = gzerror(f, &zerr);
    if (r < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
        return dacc_fail(e, "%s: cannot decompress: %s", path, msg);
    return dacc_fail(e, "%s: truncated tar archive", path);
}

static int tar_skip(gzFile f, const char *path, int64_t n, dacc_err *e) {
    uint8_t buf[8192];
    while (n > 0) {
        unsigned k = n > (int64_t)sizeof buf ? (unsigned)sizeof buf : (unsigned)n;
        if (dacc_tar_read(f, path, buf, k, e)) return -1;
        n -= k;
    }
    return 0;
}

/* Reads one 512-byte header: 1 read, 0 end of archive, -1 error. */
static int tar_header(gzFile f, const char *path, uint8_t h[512], int *zero_blocks,
                      dacc_err *e) {
    for (;;) {
        int r = gzread(f, h, 512);
        if (r == 0) return 0; /* end without the two zero blocks: tolerated */
        if (r != 512) {
            int zerr;
            const char *msg = gzerror(f, &zerr);
            if (r < 0 || (zerr != Z_OK && zerr != Z_STREAM_END))
                return dacc_fail(e, "%s: cannot decompress: %s", path, msg);
            return dacc_fail(e, "%s: truncated tar header", path);
        }
        int allzero = 1;
        for (int i = 0; i < 512 && allzero; i++) allzero = h[i] == 0;
        if (!allzero) break;
        if (++*zero_blocks == 2) return 0;
    }
    *zero_blocks = 0;
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += (i >= 148 && i < 156) ? ' ' : h[i];
    int64_t stored = tar_octal((const char *)h + 148, 8);
    if (stored < 0 || (unsigned)stored != sum)
        return dacc_fail(e, "%s: not a tar archive (header checksum mismatch)", path);
    return 1;
}

/* The body of a GNU long name ('L') or pax header ('x'): the next entry's name. */
static int tar_longname(gzFile f, const char *path, char type, int64_t size, char *longname,
                        size_t n, dacc_err *e) {
    if (size > 65536) return dacc_fail(e, "%s: oversized tar extended header", path);
    int64_t padded = (size + 511) / 512 * 512;
    char *body = malloc((size_t)padded + 1);
    if (!body) return dacc_fail(e, "%s: out of memory", path);
    if (dacc_tar_read(f, path, body, (unsigned)padded, e)) {
        free(body);
        return -1;
    }
    body[size] = '\0';
    if (type == 'L') snprintf(longname, n, "%s", body);
    else pax_path(body, size, longname, n);
    free(body);
    return 0;
}

int dacc_tar_walk(gzFile f, const char *path, dacc_tar_visit visit, void *user, dacc_err *e) {
    char longname[1024] = "", name[1024];
    int zero_blocks = 0;
    int64_t total = 0;
    for (;;) {
        uint8_t h[512];
        int r = tar_header(f, path, h, &zero_blocks, e);
        if (r <= 0) return r;
        int64_t size = tar_octal((const char *)h + 124, 12);
        if (size < 0 || size > DACC_TAR_MAX_MEMBER)
            return dacc_fail(e, "%s: unsupported tar size field", path);
        int64_t padded = (size + 511) / 512 * 512;
        total += 512 + padded;
        if (total > DACC_TAR_MAX_TOTAL)
            return dacc_fail(e, "%s: tar archive larger than %lld bytes", path,
                             (long long)DACC_TAR_MAX_TOTAL);
        char type = (char)h[156];
        if (type == 'L' || type == 'x') { /* GNU long name, pax header: name of the next */
            if (tar_longname(f, path, type, size, longname, sizeof longname, e)) return -1;
            continue;
        }
        if (longname[0]) snprintf(name, sizeof name, "%s", longname);
        else if (!memcmp(h + 257, "ustar", 5) && h[345])
            snprintf(name, sizeof name, "%.155s/%.100s", (const char *)h + 345, (const char *)h);
        else
            snprintf(name, sizeof name, "%.100s", (const char *)h);
        longname[0] = '\0';
        if (unsafe_path(name))
            return dacc_fail(e, "%s: refusing tar entry with unsafe path '%s'", path, name);
        int took = visit(user, name, type, size, f, e);
        if (took < 0) return -1;
        if (tar_skip(f, path, took ? padded - size : padded, e)) return -1;
    }
}
