/* npz writer: one .npy member after another into a unique temporary file
 * beside PATH (dacc_tmp_create: no link followed, no name shared), local headers
 * patched in place once a member's CRC and sizes are known (the file is
 * seekable, so no data descriptors), then the central directory, fsync and
 * rename. ZIP64 fields appear exactly when a value does not fit 32 bits, or
 * always when forced. Dates are fixed (1980-01-01) so output is reproducible. */
#include "dacc/npz.h"
#include "dacc/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#define OUTBUF (1 << 16)
/* Below this a deflated member cannot reach 4 GiB even when incompressible,
 * so its local header needs no ZIP64 extra. */
#define LOCAL64_THRESHOLD 0xF0000000ull

typedef struct entry {
    char name[136];
    uint16_t method;
    uint32_t crc;
    uint64_t csize, usize, lho;
    int local64;
} entry;

struct dacc_npz_writer {
    char *path, *tmp;
    int fd;
    int compress, force64, failed;
    uint64_t pos; /* bytes written so far = offset of the next record */
    entry *ent;
    int n, cap;
    /* the open member */
    int open;
    uint64_t expect, got; /* uncompressed bytes expected / received (npy header included) */
    uint64_t hdr;         /* npy header bytes of the open member */
    z_stream zs;
    int zs_init;
    uint8_t *out;
};

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)v; p[1] = (uint8_t)(v >> 8); }
static void put32(uint8_t *p, uint32_t v) { put16(p, (uint16_t)v); put16(p + 2, (uint16_t)(v >> 16)); }
static void put64(uint8_t *p, uint64_t v) { put32(p, (uint32_t)v); put32(p + 4, (uint32_t)(v >> 32)); }

static int wfail(dacc_npz_writer *w) {
    w->failed = 1;
    return -1;
}

static int write_all(dacc_npz_writer *w, const void *data, size_t n, dacc_err *e) {
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t r = write(w->fd, p, n);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            dacc_fail(e, "%s: write error: %s", w->tmp, r < 0 ? strerror(errno) : "disk full");
            return wfail(w);
        }
        p += r;
        n -= (size_t)r;
        w->pos += (uint64_t)r;
    }
    return 0;
}

static int pwrite_all(dacc_npz_writer *w, const void *data, size_t n, uint64_t off, dacc_err *e) {
    const uint8_t *p = data;
    while (n > 0) {
        ssize_t r = pwrite(w->fd, p, n, (off_t)off);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) {
            dacc_fail(e, "%s: write error: %s", w->tmp, r < 0 ? strerror(errno) : "disk full");
            return wfail(w);
        }
        p += r;
        n -= (size_t)r;
        off += (uint64_t)r;
    }
    return 0;
}

int dacc_npz_writer_open(const char *path, int compress, dacc_npz_writer **out, dacc_err *e) {
    *out = NULL;
    dacc_npz_writer *w = calloc(1, sizeof *w);
    if (!w) return dacc_fail(e, "%s: out of memory", path);
    size_t l = strlen(path);
    w->path = strdup(path);
    size_t tmp_n = l + 64; /* ".tmp-<pid>-<8 hex>" */
    w->tmp = malloc(tmp_n);
    w->out = malloc(OUTBUF);
    if (!w->path || !w->tmp || !w->out) {
        free(w->path); free(w->tmp); free(w->out); free(w);
        return dacc_fail(e, "%s: out of memory", path);
    }
    w->compress = compress != 0;
    w->fd = dacc_tmp_create(path, w->tmp, tmp_n, e);
    if (w->fd < 0) {
        free(w->path); free(w->tmp); free(w->out); free(w);
        return -1;
    }
    *out = w;
    return 0;
}

void dacc_npz_writer_force_zip64(dacc_npz_writer *w) {
    if (w) w->force64 = 1;
}

static void writer_free(dacc_npz_writer *w) {
    if (w->zs_init) deflateEnd(&w->zs);
    if (w->fd >= 0) close(w->fd);
    free(w->ent);
    free(w->out);
    free(w->path);
    free(w->tmp);
    free(w);
}

void dacc_npz_writer_abort(dacc_npz_writer *w) {
    if (!w) return;
    unlink(w->tmp);
    writer_free(w);
}

/* The npy v1 (or v2) header for dtype/shape, padded to a multiple of 64. */
static int npy_header(const char *dtype, int ndim, const int64_t *shape, uint8_t *out,
                      size_t outn, size_t *len) {
    char dict[512];
    int k = snprintf(dict, sizeof dict, "{'descr': '%s', 'fortran_order': False, 'shape': (",
                     dtype);
    for (int i = 0; i < ndim; i++)
        k += snprintf(dict + k, sizeof dict - (size_t)k, "%lld,%s", (long long)shape[i],
                      (i + 1 < ndim) ? " " : "");
    if (ndim > 1) k--; /* numpy writes "(3, 4)" but "(3,)" */
    k += snprintf(dict + k, sizeof dict - (size_t)k, "), }");
    size_t dl = (size_t)k;
    int v2 = 10 + dl + 1 > 65535;
    size_t pre = v2 ? 12 : 10;
    size_t total = (pre + dl + 1 + 63) / 64 * 64;
    if (total > outn) return -1;
    memcpy(out, "\x93NUMPY", 6);
    out[6] = v2 ? 2 : 1;
    out[7] = 0;
    if (v2) put32(out + 8, (uint32_t)(total - pre));
    else put16(out + 8, (uint16_t)(total - pre));
    memcpy(out + pre, dict, dl);
    memset(out + pre + dl, ' ', total - pre - dl - 1);
    out[total - 1] = '\n';
    *len = total;
    return 0;
}

/* The member's local header; CRC and sizes are patched at the end. */
static int write_local_header(dacc_npz_writer *w, const entry *en, dacc_err *e) {
    uint8_t lh[30 + 136 + 20];
    size_t fnl = strlen(en->name);
    put32(lh, 0x04034b50);
    put16(lh + 4, en->local64 ? 45 : 20);
    put16(lh + 6, 0);
    put16(lh + 8, en->method);
    put16(lh + 10, 0);          /* time 00:00 */
    put16(lh + 12, (0 << 9) | (1 << 5) | 1); /* 1980-01-01 */
    put32(lh + 14, 0);
    put32(lh + 18, en->local64 ? 0xFFFFFFFF : 0);
    put32(lh + 22, en->local64 ? 0xFFFFFFFF : 0);
    put16(lh + 26, (uint16_t)fnl);
    put16(lh + 28, en->local64 ? 20 : 0);
    memcpy(lh + 30, en->name, fnl);
    if (en->local64) {
        put16(lh + 30 + fnl, 1);
        put16(lh + 32 + fnl, 16);
        put64(lh + 34 + fnl, 0);
        put64(lh + 42 + fnl, 0);
    }
    return write_all(w, lh, 30 + fnl + (en->local64 ? 20 : 0), e);
}

static int feed(dacc_npz_writer *w, const void *data, size_t n, int finish, dacc_err *e);

int dacc_npz_writer_begin(dacc_npz_writer *w, const char *name, const char *dtype, int ndim,
                          const int64_t *shape, dacc_err *e) {
    if (!w) return dacc_fail(e, "npz writer: NULL writer");
    if (w->failed) return dacc_fail(e, "%s: writer already failed", w->path);
    if (w->open) return dacc_fail(e, "%s: member still open (call dacc_npz_writer_end)", w->path);
    int isz = dacc_npy_dtype_size(dtype);
    if (!isz) return dacc_fail(e, "%s: %s: unsupported dtype '%s'", w->path, name, dtype ? dtype : "(null)");
    if (ndim < 0 || ndim > DACC_NPY_MAXDIM || (ndim > 0 && !shape))
        return dacc_fail(e, "%s: %s: bad ndim %d", w->path, name, ndim);
    size_t nl = strlen(name);
    int has_ext = nl >= 4 && !strcmp(name + nl - 4, ".npy");
    if (nl == 0 || nl - (has_ext ? 4 : 0) >= 128 || strchr(name, '/') || strchr(name, '\\'))
        return dacc_fail(e, "%s: bad member name '%s'", w->path, name);
    uint64_t count = 1;
    for (int i = 0; i < ndim; i++) {
        if (shape[i] < 0 || (shape[i] && count > (UINT64_MAX >> 8) / (uint64_t)shape[i]))
            return dacc_fail(e, "%s: %s: bad shape", w->path, name);
        count *= (uint64_t)shape[i];
    }
    for (int i = 0; i < w->n; i++) {
        size_t el = strlen(w->ent[i].name);
        if (el - 4 == nl - (has_ext ? 4 : 0) && !strncmp(w->ent[i].name, name, el - 4))
            return dacc_fail(e, "%s: member %s written twice", w->path, name);
    }
    if (w->n == w->cap) {
        int nc = w->cap ? 2 * w->cap : 8;
        entry *ne = realloc(w->ent, (size_t)nc * sizeof *ne);
        if (!ne) return dacc_fail(e, "%s: out of memory", w->path);
        w->ent = ne;
        w->cap = nc;
    }
    uint8_t hdr[1024];
    size_t hlen;
    if (npy_header(dtype, ndim, shape, hdr, sizeof hdr, &hlen))
        return dacc_fail(e, "%s: %s: npy header too long", w->path, name);

    entry *en = &w->ent[w->n];
    memset(en, 0, sizeof *en);
    snprintf(en->name, sizeof en->name, "%s%s", name, has_ext ? "" : ".npy");
    en->method = w->compress ? 8 : 0;
    en->lho = w->pos;
    en->usize = hlen + count * (uint64_t)isz;
    en->local64 = w->force64 || en->usize >= LOCAL64_THRESHOLD;

    if (write_local_header(w, en, e)) return -1;
    if (w->compress) {
        if (!w->zs_init) {
            memset(&w->zs, 0, sizeof w->zs);
            if (deflateInit2(&w->zs, Z_DEFAULT_COMPRESSION, Z_DEFLATED, -15, 8,
                             Z_DEFAULT_STRATEGY) != Z_OK) {
                dacc_fail(e, "%s: cannot initialise zlib", w->path);
                return wfail(w);
            }
            w->zs_init = 1;
        } else if (deflateReset(&w->zs) != Z_OK) {
            dacc_fail(e, "%s: cannot reset zlib", w->path);
            return wfail(w);
        }
    }
    w->open = 1;
    w->expect = en->usize;
    w->got = 0;
    w->hdr = hlen;
    en->crc = (uint32_t)crc32(0, NULL, 0);
    return feed(w, hdr, hlen, 0, e);
}

/* Passes uncompressed bytes into the member (CRC, size, deflate). */
static int feed(dacc_npz_writer *w, const void *data, size_t n, int finish, dacc_err *e) {
    entry *en = &w->ent[w->n];
    const uint8_t *p = data;
    if (n) {
        if (n > w->expect - w->got) {
            dacc_fail(e, "%s: %s: %llu data bytes written but the shape needs %llu", w->path,
                      en->name, (unsigned long long)(w->got + n - w->hdr),
                      (unsigned long long)(w->expect - w->hdr));
            return wfail(w);
        }
        en->crc = (uint32_t)crc32_z(en->crc, p, n);
        w->got += n;
    }
    if (!w->compress) return n ? write_all(w, p, n, e) : 0;
    do {
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        w->zs.next_in = (Bytef *)(uintptr_t)p;
        w->zs.avail_in = (uInt)chunk;
        int fl = finish && chunk == n ? Z_FINISH : Z_NO_FLUSH;
        int r;
        do {
            w->zs.next_out = w->out;
            w->zs.avail_out = OUTBUF;
            r = deflate(&w->zs, fl);
            if (r == Z_STREAM_ERROR) {
                dacc_fail(e, "%s: deflate failed", w->path);
                return wfail(w);
            }
            size_t made = OUTBUF - w->zs.avail_out;
            if (made && write_all(w, w->out, made, e)) return -1;
        } while (w->zs.avail_out == 0 || (fl == Z_FINISH && r != Z_STREAM_END));
        p += chunk;
        n -= chunk;
    } while (n > 0);
    return 0;
}

int dacc_npz_writer_write(dacc_npz_writer *w, const void *data, size_t bytes, dacc_err *e) {
    if (!w) return dacc_fail(e, "npz writer: NULL writer");
    if (w->failed) return dacc_fail(e, "%s: writer already failed", w->path);
    if (!w->open) return dacc_fail(e, "%s: no member open (call dacc_npz_writer_begin)", w->path);
    return feed(w, data, bytes, 0, e);
}

int dacc_npz_writer_end(dacc_npz_writer *w, dacc_err *e) {
    if (!w) return dacc_fail(e, "npz writer: NULL writer");
    if (w->failed) return dacc_fail(e, "%s: writer already failed", w->path);
    if (!w->open) return dacc_fail(e, "%s: no member open", w->path);
    entry *en = &w->ent[w->n];
    if (w->got != w->expect) {
        dacc_fail(e, "%s: %s: only %llu of %llu data bytes written", w->path, en->name,
                  (unsigned long long)(w->got - w->hdr), (unsigned long long)(w->expect - w->hdr));
        return wfail(w);
    }
    size_t fnl = strlen(en->name);
    uint64_t data_start = en->lho + 30 + fnl + (en->local64 ? 20 : 0);
    if (w->compress && feed(w, NULL, 0, 1, e)) return -1;
    en->csize = w->pos - data_start;
    if (!en->local64 && en->csize >= 0xFFFFFFFFull) {
        dacc_fail(e, "%s: %s: compressed size needs ZIP64 in the local header", w->path,
                  en->name);
        return wfail(w);
    }
    uint8_t patch[12];
    put32(patch, en->crc);
    put32(patch + 4, en->local64 ? 0xFFFFFFFF : (uint32_t)en->csize);
    put32(patch + 8, en->local64 ? 0xFFFFFFFF : (uint32_t)en->usize);
    if (pwrite_all(w, patch, 12, en->lho + 14, e)) return -1;
    if (en->local64) {
        uint8_t x[16];
        put64(x, en->usize);
        put64(x + 8, en->csize);
        if (pwrite_all(w, x, 16, en->lho + 30 + fnl + 4, e)) return -1;
    }
    w->open = 0;
    w->n++;
    return 0;
}

int dacc_npz_writer_add(dacc_npz_writer *w, const char *name, const char *dtype, int ndim,
                        const int64_t *shape, const void *data, dacc_err *e) {
    if (dacc_npz_writer_begin(w, name, dtype, ndim, shape, e)) return -1;
    entry *en = &w->ent[w->n];
    size_t bytes = (size_t)(w->expect - w->got);
    if (bytes && !data) {
        dacc_fail(e, "%s: %s: no data", w->path, en->name);
        return wfail(w);
    }
    if (bytes && dacc_npz_writer_write(w, data, bytes, e)) return -1;
    return dacc_npz_writer_end(w, e);
}

static int write_central(dacc_npz_writer *w, dacc_err *e) {
    uint64_t cd_start = w->pos;
    for (int i = 0; i < w->n; i++) {
        entry *en = &w->ent[i];
        int z64 = w->force64 || en->usize >= 0xFFFFFFFFull || en->csize >= 0xFFFFFFFFull ||
                  en->lho >= 0xFFFFFFFFull;
        size_t fnl = strlen(en->name);
        uint8_t h[46 + 136 + 28];
        put32(h, 0x02014b50);
        put16(h + 4, (3 << 8) | 45); /* made by: Unix, 4.5 */
        put16(h + 6, z64 ? 45 : 20);
        put16(h + 8, 0);
        put16(h + 10, en->method);
        put16(h + 12, 0);
        put16(h + 14, (0 << 9) | (1 << 5) | 1);
        put32(h + 16, en->crc);
        put32(h + 20, z64 ? 0xFFFFFFFF : (uint32_t)en->csize);
        put32(h + 24, z64 ? 0xFFFFFFFF : (uint32_t)en->usize);
        put16(h + 28, (uint16_t)fnl);
        put16(h + 30, z64 ? 28 : 0);
        put16(h + 32, 0);
        put16(h + 34, 0);
        put16(h + 36, 0);
        put32(h + 38, 0644u << 16);
        put32(h + 42, z64 ? 0xFFFFFFFF : (uint32_t)en->lho);
        memcpy(h + 46, en->name, fnl);
        if (z64) {
            uint8_t *x = h + 46 + fnl;
            put16(x, 1);
            put16(x + 2, 24);
            put64(x + 4, en->usize);
            put64(x + 12, en->csize);
            put64(x + 20, en->lho);
        }
        if (write_all(w, h, 46 + fnl + (z64 ? 28 : 0), e)) return -1;
    }
    uint64_t cd_size = w->pos - cd_start, eocd64 = w->pos;
    int z64 = w->force64 || w->n >= 0xFFFF || cd_start >= 0xFFFFFFFFull ||
              cd_size >= 0xFFFFFFFFull;
    if (z64) {
        uint8_t r[56 + 20];
        put32(r, 0x06064b50);
        put64(r + 4, 44);
        put16(r + 12, (3 << 8) | 45);
        put16(r + 14, 45);
        put32(r + 16, 0);
        put32(r + 20, 0);
        put64(r + 24, (uint64_t)w->n);
        put64(r + 32, (uint64_t)w->n);
        put64(r + 40, cd_size);
        put64(r + 48, cd_start);
        put32(r + 56, 0x07064b50);
        put32(r + 60, 0);
        put64(r + 64, eocd64);
        put32(r + 72, 1);
        if (write_all(w, r, sizeof r, e)) return -1;
    }
    uint8_t q[22];
    put32(q, 0x06054b50);
    put16(q + 4, 0);
    put16(q + 6, 0);
    put16(q + 8, z64 ? 0xFFFF : (uint16_t)w->n);
    put16(q + 10, z64 ? 0xFFFF : (uint16_t)w->n);
    put32(q + 12, z64 ? 0xFFFFFFFF : (uint32_t)cd_size);
    put32(q + 16, z64 ? 0xFFFFFFFF : (uint32_t)cd_start);
    put16(q + 20, 0);
    return write_all(w, q, sizeof q, e);
}

int dacc_npz_writer_close(dacc_npz_writer *w, dacc_err *e) {
    if (!w) return dacc_fail(e, "npz writer: NULL writer");
    int rc = 0;
    if (w->failed) rc = dacc_fail(e, "%s: not written: an earlier write failed", w->path);
    else if (w->open) rc = dacc_fail(e, "%s: member still open at close", w->path);
    else if (write_central(w, e)) rc = -1;
    if (rc == 0) {
        int fd = w->fd;
        w->fd = -1; /* closed by the commit, also when it fails */
        rc = dacc_tmp_commit(fd, w->tmp, w->path, e);
    }
    if (rc == 0) {
        /* make the rename durable */
        char *d = strdup(w->path);
        if (d) {
            int dfd = open(dirname(d), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
            if (dfd >= 0) {
                fsync(dfd);
                close(dfd);
            }
            free(d);
        }
        writer_free(w);
        return 0;
    }
    dacc_npz_writer_abort(w);
    return -1;
}
