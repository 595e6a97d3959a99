/* npz reader: zip central directory (with ZIP64), npy headers, and element
 * reads that stream from the file, so a multi-gigabyte member costs only the
 * bytes asked for (plus, for deflate, the bytes before them). Every size and
 * offset from the file is checked against the file before it is used. */
#include "dacc/npz.h"
#include "dacc/fileio.h"
#include "data/npy_header.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npz_read.c assumes a little-endian host"
#endif

#define IOBUF (1 << 16)
#define MAX_MEMBERS 100000
#define MAX_CD_BYTES ((uint64_t)64 << 20)
#define MAX_NPY_HEADER (1 << 20)
/* Deflate cannot expand data more than about 1032:1; a member claiming more
 * than this times its compressed size is corrupt (refused before reading). */
#define MAX_DEFLATE_RATIO 1100

typedef struct member {
    dacc_npy_array a;     /* first: the public pointer is a pointer to this */
    char kind;            /* 'b', 'i', 'u', 'f' */
    int size;             /* bytes per element */
    int swap;             /* big-endian data */
    uint16_t method;
    uint32_t crc;         /* from the central directory */
    uint64_t csize, usize, data_off;
    uint64_t hdr_len;     /* npy header bytes before the array data */
    /* inflate cursor (deflate) */
    z_stream zs;
    int zs_init;
    uint8_t *inbuf;
    uint64_t cpos, upos;  /* compressed consumed, uncompressed produced */
    /* CRC over the bytes read in order from 0 (stored: while reads are sequential) */
    uint32_t crc_run;
    uint64_t crc_pos;
    int crc_done;
} member;

struct dacc_npz {
    char *path;
    int fd;
    uint64_t file_size;
    int n;
    member *m;
    uint8_t *scratch; /* IOBUF bytes: skipping and conversion */
};

static uint16_t le16(const uint8_t *p) { return (uint16_t)(p[0] | p[1] << 8); }
static uint32_t le32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}
static uint64_t le64(const uint8_t *p) { return le32(p) | (uint64_t)le32(p + 4) << 32; }

static int pread_full(dacc_npz *z, void *dst, size_t n, uint64_t off, dacc_err *e) {
    if (off > z->file_size || n > z->file_size - off)
        return dacc_fail(e, "%s: truncated: needs bytes up to offset %llu but the file has %llu",
                         z->path, (unsigned long long)(off + n),
                         (unsigned long long)z->file_size);
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(z->fd, (uint8_t *)dst + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR) continue;
        if (r < 0) return dacc_fail(e, "%s: read error: %s", z->path, strerror(errno));
        if (r == 0) return dacc_fail(e, "%s: file shrank while reading", z->path);
        got += (size_t)r;
    }
    return 0;
}

/* ---- raw member reads -------------------------------------------------- */

static int crc_track(dacc_npz *z, member *m, uint64_t off, const uint8_t *p, size_t n,
                     dacc_err *e) {
    if (m->crc_done || off != m->crc_pos) return 0;
    m->crc_run = (uint32_t)crc32_z(m->crc_run, p, n);
    m->crc_pos += n;
    if (m->crc_pos == m->usize) {
        m->crc_done = 1;
        if (m->crc_run != m->crc)
            return dacc_fail(e, "%s: %s.npy: CRC-32 mismatch (data 0x%08x, zip directory 0x%08x)",
                             z->path, m->a.name, m->crc_run, m->crc);
    }
    return 0;
}

static int inflate_reset(dacc_npz *z, member *m, dacc_err *e) {
    if (!m->inbuf && !(m->inbuf = malloc(IOBUF)))
        return dacc_fail(e, "%s: out of memory", z->path);
    if (!m->zs_init) {
        memset(&m->zs, 0, sizeof m->zs);
        if (inflateInit2(&m->zs, -15) != Z_OK)
            return dacc_fail(e, "%s: cannot initialise zlib", z->path);
        m->zs_init = 1;
    } else if (inflateReset(&m->zs) != Z_OK) {
        return dacc_fail(e, "%s: cannot reset zlib", z->path);
    }
    m->zs.avail_in = 0;
    m->cpos = m->upos = 0;
    if (!m->crc_done) m->crc_run = 0, m->crc_pos = 0;
    return 0;
}

/* Inflates exactly n bytes at the cursor into out. */
static int inflate_n(dacc_npz *z, member *m, uint8_t *out, size_t n, dacc_err *e) {
    while (n > 0) {
        if (m->zs.avail_in == 0) {
            uint64_t left = m->csize - m->cpos;
            size_t k = left < IOBUF ? (size_t)left : IOBUF;
            if (k == 0)
                return dacc_fail(e, "%s: %s.npy: deflate data ends early (%llu of %llu bytes)",
                                 z->path, m->a.name, (unsigned long long)m->upos,
                                 (unsigned long long)m->usize);
            if (pread_full(z, m->inbuf, k, m->data_off + m->cpos, e)) return -1;
            m->cpos += k;
            m->zs.next_in = m->inbuf;
            m->zs.avail_in = (uInt)k;
        }
        size_t chunk = n > (1u << 30) ? (1u << 30) : n;
        m->zs.next_out = out;
        m->zs.avail_out = (uInt)chunk;
        int r = inflate(&m->zs, Z_NO_FLUSH);
        size_t made = chunk - m->zs.avail_out;
        if (r != Z_OK && r != Z_STREAM_END && !(r == Z_BUF_ERROR && made))
            return dacc_fail(e, "%s: %s.npy: corrupt deflate data at byte %llu: %s", z->path,
                             m->a.name, (unsigned long long)m->upos,
                             m->zs.msg ? m->zs.msg : "inflate error");
        if (crc_track(z, m, m->upos, out, made, e)) return -1;
        m->upos += made;
        out += made;
        n -= made;
        if (r == Z_STREAM_END && n > 0)
            return dacc_fail(e, "%s: %s.npy: deflate data ends at %llu bytes, expected %llu",
                             z->path, m->a.name, (unsigned long long)m->upos,
                             (unsigned long long)m->usize);
    }
    return 0;
}

/* Bytes [off, off+n) of the member's uncompressed content. */
static int member_read(dacc_npz *z, member *m, uint64_t off, void *dst, size_t n, dacc_err *e) {
    if (off > m->usize || n > m->usize - off)
        return dacc_fail(e, "%s: %s.npy: read past the end of the member", z->path, m->a.name);
    if (m->method == 0) {
        if (pread_full(z, dst, n, m->data_off + off, e)) return -1;
        return crc_track(z, m, off, dst, n, e);
    }
    if (!m->zs_init || off < m->upos)
        if (inflate_reset(z, m, e)) return -1;
    while (m->upos < off) {
        uint64_t gap = off - m->upos;
        size_t k = gap < IOBUF ? (size_t)gap : IOBUF;
        if (inflate_n(z, m, z->scratch, k, e)) return -1;
    }
    return inflate_n(z, m, dst, n, e);
}

/* ---- the zip structure ------------------------------------------------- */

/* Drops a member's inflate state (recreated by the next read): after its
 * header is read, so an archive of many members does not hold a zlib stream
 * and an input buffer for each. */
static void member_release(member *m) {
    if (m->zs_init) inflateEnd(&m->zs);
    m->zs_init = 0;
    free(m->inbuf);
    m->inbuf = NULL;
}

static void free_members(dacc_npz *z) {
    for (int i = 0; i < z->n; i++) member_release(&z->m[i]);
    free(z->m);
    z->m = NULL;
    z->n = 0;
}

void dacc_npz_close(dacc_npz *z) {
    if (!z) return;
    free_members(z);
    if (z->fd >= 0) close(z->fd);
    free(z->scratch);
    free(z->path);
    free(z);
}

/* Reads and checks the npy header of member m. */
static int read_npy_header(dacc_npz *z, member *m, dacc_err *e) {
    uint8_t pre[12];
    const char *nm = m->a.name;
    if (m->usize < 10)
        return dacc_fail(e, "%s: %s.npy: too short for an npy header (%llu bytes)", z->path, nm,
                         (unsigned long long)m->usize);
    if (member_read(z, m, 0, pre, 10, e)) return -1;
    if (memcmp(pre, "\x93NUMPY", 6))
        return dacc_fail(e, "%s: %s.npy: not an npy array (bad magic)", z->path, nm);
    int major = pre[6];
    uint64_t hlen, start;
    if (major == 1) {
        hlen = le16(pre + 8);
        start = 10;
    } else if (major == 2 || major == 3) {
        if (m->usize < 12)
            return dacc_fail(e, "%s: %s.npy: truncated npy header", z->path, nm);
        if (member_read(z, m, 10, pre + 10, 2, e)) return -1;
        hlen = le32(pre + 8);
        start = 12;
    } else {
        return dacc_fail(e, "%s: %s.npy: unsupported npy version %d.%d", z->path, nm, major,
                         pre[7]);
    }
    if (hlen > MAX_NPY_HEADER || start + hlen > m->usize)
        return dacc_fail(e, "%s: %s.npy: npy header length %llu does not fit the member (%llu "
                            "bytes)",
                         z->path, nm, (unsigned long long)hlen, (unsigned long long)m->usize);
    char *txt = malloc(hlen + 1);
    if (!txt) return dacc_fail(e, "%s: out of memory", z->path);
    if (member_read(z, m, start, txt, hlen, e)) {
        free(txt);
        return -1;
    }
    txt[hlen] = '\0';
    int fortran = 0;
    char msg[160];
    int r = npy_parse_header(txt, hlen, &m->a, &fortran, msg, sizeof msg);
    free(txt);
    if (r) return dacc_fail(e, "%s: %s.npy: %s", z->path, nm, msg);
    if (fortran)
        return dacc_fail(e, "%s: %s.npy: fortran_order is True; only C order is supported",
                         z->path, nm);
    if (npy_parse_dtype(m->a.dtype, &m->kind, &m->size, &m->swap))
        return dacc_fail(e, "%s: %s.npy: unsupported dtype '%s' (supported: |b1, |u1, |i1, "
                            "<u2..<u8, <i2..<i8, <f4, <f8)",
                         z->path, nm, m->a.dtype);
    int64_t count = 1;
    for (int i = 0; i < m->a.ndim; i++) {
        if (m->a.shape[i] && count > INT64_MAX / 16 / m->a.shape[i])
            return dacc_fail(e, "%s: %s.npy: shape too large", z->path, nm);
        count *= m->a.shape[i];
    }
    m->a.count = count;
    m->hdr_len = start + hlen;
    uint64_t want = m->hdr_len + (uint64_t)count * (uint64_t)m->size;
    if (want != m->usize)
        return dacc_fail(e, "%s: %s.npy: shape/size mismatch: header says %lld elements of %d "
                            "bytes (%llu bytes with the header) but the member has %llu bytes",
                         z->path, nm, (long long)count, m->size, (unsigned long long)want,
                         (unsigned long long)m->usize);
    return 0;
}

/* The ZIP64 end record named by the locator 20 bytes before the end record
 * at *eocd: entry count, directory size and offset; *eocd becomes its offset. */
static int read_zip64_end(dacc_npz *z, uint64_t *eocd, uint64_t *n, uint64_t *size, uint64_t *off,
                          dacc_err *e) {
    uint8_t loc[20], rec[56];
    if (pread_full(z, loc, 20, *eocd - 20, e)) return -1;
    uint64_t roff = le64(loc + 8);
    if (roff > *eocd - 20 || *eocd - 20 - roff < 56)
        return dacc_fail(e, "%s: ZIP64 end record offset %llu is outside the file", z->path,
                         (unsigned long long)roff);
    if (pread_full(z, rec, 56, roff, e)) return -1;
    if (le32(rec) != 0x06064b50)
        return dacc_fail(e, "%s: ZIP64 end of central directory record not found at %llu", z->path,
                         (unsigned long long)roff);
    *n = le64(rec + 32);
    *size = le64(rec + 40);
    *off = le64(rec + 48);
    *eocd = roff;
    return 0;
}

/* Finds the end of central directory; fills cd offset/size/count. */
static int find_cd(dacc_npz *z, uint64_t *cd_off, uint64_t *cd_size, uint64_t *n_entries,
                   dacc_err *e) {
    uint64_t fs = z->file_size;
    if (fs < 22) return dacc_fail(e, "%s: not a zip/npz file (%llu bytes)", z->path,
                                  (unsigned long long)fs);
    size_t tail = fs < 22 + 65535 ? (size_t)fs : 22 + 65535;
    uint8_t *buf = malloc(tail);
    if (!buf) return dacc_fail(e, "%s: out of memory", z->path);
    if (pread_full(z, buf, tail, fs - tail, e)) {
        free(buf);
        return -1;
    }
    long pos = -1;
    for (long i = (long)tail - 22; i >= 0; i--)
        if (le32(buf + i) == 0x06054b50 && (size_t)i + 22 + le16(buf + i + 20) == tail) {
            pos = i;
            break;
        }
    if (pos < 0)
        for (long i = (long)tail - 22; i >= 0; i--) /* tolerate junk after the comment */
            if (le32(buf + i) == 0x06054b50) {
                pos = i;
                break;
            }
    if (pos < 0) {
        free(buf);
        return dacc_fail(e, "%s: not a zip/npz file (no end of central directory record)",
                         z->path);
    }
    const uint8_t *r = buf + pos;
    uint64_t eocd = fs - tail + (uint64_t)pos;
    uint64_t n = le16(r + 10), size = le32(r + 12), off = le32(r + 16);
    if (le16(r + 4) != 0 || le16(r + 6) != 0 || le16(r + 8) != le16(r + 10)) {
        free(buf);
        return dacc_fail(e, "%s: multi-disk zip archives are not supported", z->path);
    }
    int zip64 = eocd >= 20 && pos >= 20 && le32(r - 20) == 0x07064b50;
    if (!zip64 && eocd >= 20 && pos < 20) {
        uint8_t loc[4];
        if (pread_full(z, loc, 4, eocd - 20, e)) {
            free(buf);
            return -1;
        }
        zip64 = le32(loc) == 0x07064b50;
    }
    free(buf);
    if (zip64 && read_zip64_end(z, &eocd, &n, &size, &off, e)) return -1;
    if (!zip64 && (n == 0xFFFF || size == 0xFFFFFFFF || off == 0xFFFFFFFF))
        return dacc_fail(e, "%s: end record needs ZIP64 but the ZIP64 locator is missing", z->path);
    if (off > eocd || size > eocd - off)
        return dacc_fail(e, "%s: truncated or corrupt: central directory (%llu bytes at %llu) "
                            "does not fit before the end record at %llu",
                         z->path, (unsigned long long)size, (unsigned long long)off,
                         (unsigned long long)eocd);
    if (size > MAX_CD_BYTES || n > MAX_MEMBERS)
        return dacc_fail(e, "%s: central directory too large (%llu entries, %llu bytes)", z->path,
                         (unsigned long long)n, (unsigned long long)size);
    if (n * 46 > size)
        return dacc_fail(e, "%s: corrupt central directory: %llu entries cannot fit in %llu bytes",
                         z->path, (unsigned long long)n, (unsigned long long)size);
    *cd_off = off;
    *cd_size = size;
    *n_entries = n;
    return 0;
}

static int cmp_member_name(const void *a, const void *b) {
    return strcmp((*(const member *const *)a)->a.name, (*(const member *const *)b)->a.name);
}

/* Two members with one name: sorted, then compared with the neighbour, so an
 * archive of MAX_MEMBERS costs n log n, not n^2. */
static int check_duplicates(dacc_npz *z, dacc_err *e) {
    if (z->n < 2) return 0;
    member **s = malloc((size_t)z->n * sizeof *s);
    if (!s) return dacc_fail(e, "%s: out of memory", z->path);
    for (int i = 0; i < z->n; i++) s[i] = &z->m[i];
    qsort(s, (size_t)z->n, sizeof *s, cmp_member_name);
    int rc = 0;
    for (int i = 1; i < z->n && rc == 0; i++)
        if (!strcmp(s[i - 1]->a.name, s[i]->a.name))
            rc = dacc_fail(e, "%s: member %s.npy appears twice", z->path, s[i]->a.name);
    free(s);
    return rc;
}

/* Central directory entry k at *pos (advanced past it): checked against
 * the directory and the file, then, for a .npy member, its npy header read
 * into z->m[z->n++]. Other entries are skipped. */
/* The fields of a central directory entry a member needs. */
typedef struct cd_entry {
    uint16_t flags, method;
    uint32_t crc, disk;
    uint64_t csize, usize, lho;
} cd_entry;

/* Checks a .npy member (method, flags, its local header and data inside the
 * data area, the deflate ratio), then reads its npy header into z->m[z->n++]. */
static int add_member(dacc_npz *z, const char *zname, size_t zl, const cd_entry *x,
                      uint64_t cd_off, dacc_err *e) {
    uint16_t flags = x->flags, method = x->method;
    uint32_t crc = x->crc, disk = x->disk;
    uint64_t csize = x->csize, usize = x->usize, lho = x->lho;
    if (disk != 0) {
        dacc_fail(e, "%s: %s: multi-disk archives are not supported", z->path, zname);
        return -1;
    }
    if (flags & 1) {
        dacc_fail(e, "%s: %s: encrypted members are not supported", z->path, zname);
        return -1;
    }
    if (method != 0 && method != 8) {
        dacc_fail(e, "%s: %s: compression method %u is not supported (only stored and "
                     "deflate)",
                  z->path, zname, method);
        return -1;
    }
    if (method == 0 && csize != usize) {
        dacc_fail(e, "%s: %s: stored member with compressed size %llu != size %llu", z->path,
                  zname, (unsigned long long)csize, (unsigned long long)usize);
        return -1;
    }
    uint8_t lh[30];
    if (lho > cd_off || cd_off - lho < 30) {
        dacc_fail(e, "%s: %s: local header offset %llu is outside the data area", z->path,
                  zname, (unsigned long long)lho);
        return -1;
    }
    if (pread_full(z, lh, 30, lho, e)) return -1;
    if (le32(lh) != 0x04034b50) {
        dacc_fail(e, "%s: %s: no local file header at offset %llu", z->path, zname,
                  (unsigned long long)lho);
        return -1;
    }
    uint64_t data_off = lho + 30 + le16(lh + 26) + le16(lh + 28);
    if (data_off > cd_off || csize > cd_off - data_off) {
        dacc_fail(e, "%s: %s: truncated: member data (%llu bytes at %llu) runs past the "
                     "central directory at %llu",
                  z->path, zname, (unsigned long long)csize, (unsigned long long)data_off,
                  (unsigned long long)cd_off);
        return -1;
    }
    if (method == 8 && usize / MAX_DEFLATE_RATIO > csize) {
        dacc_fail(e, "%s: %s: corrupt: %llu bytes cannot inflate to %llu", z->path, zname,
                  (unsigned long long)csize, (unsigned long long)usize);
        return -1;
    }
    member *m = &z->m[z->n];
    memcpy(m->a.name, zname, zl - 4);
    m->a.name[zl - 4] = '\0';
    m->method = method;
    m->crc = crc;
    m->csize = csize;
    m->usize = usize;
    m->data_off = data_off;
    z->n++;
    if (read_npy_header(z, m, e)) return -1;
    member_release(m);
    return 0;
}

static int read_cd_entry(dacc_npz *z, const uint8_t *cd, uint64_t cd_size, uint64_t cd_off,
                         uint64_t *pos, uint64_t k, uint64_t nent, dacc_err *e) {
    if (cd_size - *pos < 46 || le32(cd + *pos) != 0x02014b50) {
        dacc_fail(e, "%s: corrupt central directory (entry %llu of %llu)", z->path,
                  (unsigned long long)k, (unsigned long long)nent);
        return -1;
    }
    const uint8_t *h = cd + *pos;
    uint16_t flags = le16(h + 8), method = le16(h + 10);
    uint32_t crc = le32(h + 16);
    uint64_t csize = le32(h + 20), usize = le32(h + 24);
    uint16_t nlen = le16(h + 28), xlen = le16(h + 30), clen = le16(h + 32);
    uint32_t disk = le16(h + 34);
    uint64_t lho = le32(h + 42);
    if (cd_size - *pos - 46 < (uint64_t)nlen + xlen + clen) {
        dacc_fail(e, "%s: corrupt central directory (entry %llu overruns it)", z->path,
                  (unsigned long long)k);
        return -1;
    }
    char zname[1024];
    memcpy(zname, h + 46, nlen < sizeof zname ? nlen : sizeof zname - 1);
    zname[nlen < sizeof zname ? nlen : sizeof zname - 1] = '\0';
    /* ZIP64 extra: the fields that are saturated, in this order */
    const uint8_t *x = h + 46 + nlen, *xend = x + xlen;
    while (xend - x >= 4) {
        uint16_t id = le16(x), sz = le16(x + 2);
        if (xend - x - 4 < sz) break;
        if (id == 0x0001) {
            const uint8_t *f = x + 4, *fend = f + sz;
            if (usize == 0xFFFFFFFF && fend - f >= 8) usize = le64(f), f += 8;
            if (csize == 0xFFFFFFFF && fend - f >= 8) csize = le64(f), f += 8;
            if (lho == 0xFFFFFFFF && fend - f >= 8) lho = le64(f), f += 8;
            if (disk == 0xFFFF && fend - f >= 4) disk = le32(f), f += 4;
        }
        x += 4 + sz;
    }
    *pos += 46 + (uint64_t)nlen + xlen + clen;
    size_t zl = strlen(zname);
    if (zl == 0 || zname[zl - 1] == '/') return 0; /* directories */
    if (zl < 4 || strcmp(zname + zl - 4, ".npy")) return 0; /* not an array */
    if (usize == 0xFFFFFFFF || csize == 0xFFFFFFFF || lho == 0xFFFFFFFF) {
        dacc_fail(e, "%s: %s: sizes need a ZIP64 extra field that is missing", z->path, zname);
        return -1;
    }
    if (zl - 4 >= sizeof z->m[0].a.name || nlen >= sizeof zname) {
        dacc_fail(e, "%s: member name too long: %.60s...", z->path, zname);
        return -1;
    }
    cd_entry ent = {flags, method, crc, disk, csize, usize, lho};
    return add_member(z, zname, zl, &ent, cd_off, e);
}

int dacc_npz_open(const char *path, dacc_npz **out, dacc_err *e) {
    *out = NULL;
    dacc_npz *z = calloc(1, sizeof *z);
    if (!z) return dacc_fail(e, "%s: out of memory", path);
    z->fd = -1;
    z->path = strdup(path);
    z->scratch = malloc(IOBUF);
    uint8_t *cd = NULL;
    if (!z->path || !z->scratch) {
        dacc_fail(e, "%s: out of memory", path);
        goto fail;
    }
    z->fd = dacc_open_regular(path, e);
    if (z->fd < 0) goto fail;
    struct stat st;
    if (fstat(z->fd, &st) != 0) {
        dacc_fail(e, "%s: cannot stat: %s", path, strerror(errno));
        goto fail;
    }
    z->file_size = (uint64_t)st.st_size;
    uint64_t cd_off = 0, cd_size = 0, nent = 0;
    if (find_cd(z, &cd_off, &cd_size, &nent, e)) goto fail;
    cd = malloc(cd_size ? cd_size : 1);
    z->m = calloc(nent ? nent : 1, sizeof *z->m);
    if (!cd || !z->m) {
        dacc_fail(e, "%s: out of memory", path);
        goto fail;
    }
    if (pread_full(z, cd, cd_size, cd_off, e)) goto fail;
    uint64_t p = 0;
    for (uint64_t k = 0; k < nent; k++)
        if (read_cd_entry(z, cd, cd_size, cd_off, &p, k, nent, e)) goto fail;
    if (check_duplicates(z, e)) goto fail;
    free(cd);
    *out = z;
    return 0;
fail:
    free(cd);
    dacc_npz_close(z);
    return -1;
}

int dacc_npz_count(const dacc_npz *z) { return z ? z->n : 0; }

const dacc_npy_array *dacc_npz_array(const dacc_npz *z, int i) {
    return z && i >= 0 && i < z->n ? &z->m[i].a : NULL;
}

const dacc_npy_array *dacc_npz_find(const dacc_npz *z, const char *name) {
    if (!z || !name) return NULL;
    size_t l = strlen(name);
    if (l >= 4 && !strcmp(name + l - 4, ".npy")) l -= 4;
    for (int i = 0; i < z->n; i++)
        if (strlen(z->m[i].a.name) == l && !strncmp(z->m[i].a.name, name, l)) return &z->m[i].a;
    return NULL;
}

const char *dacc_npz_path(const dacc_npz *z) { return z ? z->path : ""; }

/* ---- element reads ------------------------------------------------------- */

enum { TO_U8, TO_F32, TO_F64, TO_I64 };

/* The member whose public array is a (its first field): constant time, so a
 * caller reading every member of a large archive stays linear. */
static member *member_of(dacc_npz *z, const dacc_npy_array *a) {
    uintptr_t p = (uintptr_t)a, lo = (uintptr_t)z->m, hi = (uintptr_t)(z->m + z->n);
    if (!a || p < lo || p >= hi || (p - lo) % sizeof(member)) return NULL;
    return &z->m[(p - lo) / sizeof(member)];
}

/* One element as double (exact for every integer up to 2^53; wider integers
 * go through the int64/uint64 paths in the converters). */
static void load_elem(const member *m, const uint8_t *src, double *d, int64_t *i, uint64_t *u) {
    uint8_t b[8];
    memcpy(b, src, (size_t)m->size);
    if (m->swap)
        for (int k = 0; k < m->size / 2; k++) {
            uint8_t t = b[k];
            b[k] = b[m->size - 1 - k];
            b[m->size - 1 - k] = t;
        }
    *i = 0;
    *u = 0;
    switch (m->kind) {
    case 'b': *u = b[0] != 0; *i = (int64_t)*u; *d = (double)*u; break;
    case 'u': {
        uint64_t v = 0;
        if (m->size == 1) v = b[0];
        else if (m->size == 2) { uint16_t t; memcpy(&t, b, 2); v = t; }
        else if (m->size == 4) { uint32_t t; memcpy(&t, b, 4); v = t; }
        else memcpy(&v, b, 8);
        *u = v; *i = v > INT64_MAX ? -1 : (int64_t)v; *d = (double)v;
        break;
    }
    case 'i': {
        int64_t v;
        if (m->size == 1) { int8_t t; memcpy(&t, b, 1); v = t; }
        else if (m->size == 2) { int16_t t; memcpy(&t, b, 2); v = t; }
        else if (m->size == 4) { int32_t t; memcpy(&t, b, 4); v = t; }
        else memcpy(&v, b, 8);
        *i = v; *u = v < 0 ? 0 : (uint64_t)v; *d = (double)v;
        break;
    }
    default:
        if (m->size == 4) { float t; memcpy(&t, b, 4); *d = t; }
        else memcpy(d, b, 8);
        break;
    }
}

static int convert(dacc_npz *z, member *m, const uint8_t *src, int64_t n, int64_t first,
                   int to, void *dst, dacc_err *e) {
    for (int64_t k = 0; k < n; k++) {
        double d;
        int64_t iv;
        uint64_t uv;
        load_elem(m, src + k * m->size, &d, &iv, &uv);
        switch (to) {
        case TO_F32: ((float *)dst)[k] = (float)d; break;
        case TO_F64: ((double *)dst)[k] = d; break;
        case TO_U8:
            if (m->kind == 'f' ? !(d >= 0 && d <= 255 && d == floor(d))
                               : (m->kind == 'i' ? (iv < 0 || iv > 255) : uv > 255)) {
                if (m->kind == 'f')
                    return dacc_fail(e, "%s: %s.npy: element %lld is %g, not an integer in "
                                        "0..255",
                                     z->path, m->a.name, (long long)(first + k), d);
                return dacc_fail(e, "%s: %s.npy: element %lld is %lld, not in 0..255", z->path,
                                 m->a.name, (long long)(first + k),
                                 m->kind == 'i' ? (long long)iv : (long long)uv);
            }
            ((uint8_t *)dst)[k] = (uint8_t)(m->kind == 'f' ? (int)d : (int)uv);
            break;
        default: /* TO_I64 */
            if (m->kind == 'f') {
                if (!(d >= -9.2e18 && d <= 9.2e18 && d == floor(d)))
                    return dacc_fail(e, "%s: %s.npy: element %lld is %g, not an integer",
                                     z->path, m->a.name, (long long)(first + k), d);
                ((int64_t *)dst)[k] = (int64_t)d;
            } else if (m->kind == 'u' && uv > INT64_MAX) {
                return dacc_fail(e, "%s: %s.npy: element %lld is %llu, too large", z->path,
                                 m->a.name, (long long)(first + k), (unsigned long long)uv);
            } else {
                ((int64_t *)dst)[k] = iv;
            }
            break;
        }
    }
    return 0;
}

static int read_elems(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                      int to, void *dst, dacc_err *e) {
    if (!z || !a) return dacc_fail(e, "npz read: no archive or array");
    member *m = member_of(z, a);
    if (!m) return dacc_fail(e, "%s: array pointer does not belong to this archive", z->path);
    if (first < 0 || count < 0 || first > a->count || count > a->count - first)
        return dacc_fail(e, "%s: %s.npy: elements [%lld, %lld) out of range (%lld elements)",
                         z->path, a->name, (long long)first, (long long)(first + count),
                         (long long)a->count);
    uint64_t off = m->hdr_len + (uint64_t)first * (uint64_t)m->size;
    static const int outsize[] = {1, 4, 8, 8};
    /* Same representation: straight into dst. */
    int direct = !m->swap && ((to == TO_U8 && m->kind == 'u' && m->size == 1) ||
                              (to == TO_F32 && m->kind == 'f' && m->size == 4) ||
                              (to == TO_F64 && m->kind == 'f' && m->size == 8) ||
                              (to == TO_I64 && m->kind == 'i' && m->size == 8));
    if (direct) {
        if (member_read(z, m, off, dst, (size_t)count * (size_t)m->size, e)) return -1;
        return 0;
    }
    int64_t per = IOBUF / m->size, done = 0;
    uint8_t *buf = malloc(IOBUF);
    if (!buf) return dacc_fail(e, "%s: out of memory", z->path);
    while (done < count) {
        int64_t k = count - done < per ? count - done : per;
        if (member_read(z, m, off + (uint64_t)done * m->size, buf, (size_t)(k * m->size), e) ||
            convert(z, m, buf, k, first + done, to, (uint8_t *)dst + done * outsize[to], e)) {
            free(buf);
            return -1;
        }
        done += k;
    }
    free(buf);
    return 0;
}

int dacc_npz_read_u8(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                     uint8_t *dst, dacc_err *e) {
    return read_elems(z, a, first, count, TO_U8, dst, e);
}
int dacc_npz_read_f32(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                      float *dst, dacc_err *e) {
    return read_elems(z, a, first, count, TO_F32, dst, e);
}
int dacc_npz_read_f64(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                      double *dst, dacc_err *e) {
    return read_elems(z, a, first, count, TO_F64, dst, e);
}
int dacc_npz_read_i64(dacc_npz *z, const dacc_npy_array *a, int64_t first, int64_t count,
                      int64_t *dst, dacc_err *e) {
    return read_elems(z, a, first, count, TO_I64, dst, e);
}
