/* predictions.bin and predictions-paper.bin (docs/RUNDIR.md): the writer of
 * the study runner and the streamed, bounded reader of `dacc report`. */
#include "study/rundir.h"
#include "dacc/fileio.h"
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define PRED_HEADER 20

static uint32_t rd32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void wr32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++) p[i] = (uint8_t)(v >> (8 * i));
}

int dacc_pred_write(const char *path, const uint8_t *pred, const uint8_t *labels, int blocks, int64_t n,
                    dacc_err *e) {
    if (blocks < 1 || blocks > DACC_PRED_MAX_BLOCKS || n < 1 || n > DACC_PRED_MAX_IMAGES)
        return dacc_fail(e, "%s: %d blocks of %lld images is outside the format", path, blocks, (long long)n);
    size_t size = PRED_HEADER + (size_t)blocks * (size_t)n * 2 + 4;
    uint8_t *b = malloc(size);
    if (!b) return dacc_fail(e, "out of memory");
    memcpy(b, "DACCPRED", 8);
    wr32(b + 8, 1);
    wr32(b + 12, (uint32_t)blocks);
    wr32(b + 16, (uint32_t)n);
    uint8_t *p = b + PRED_HEADER;
    for (int k = 0; k < blocks; k++)
        for (int64_t i = 0; i < n; i++) {
            *p++ = pred[(size_t)k * (size_t)n + (size_t)i];
            *p++ = labels[i];
        }
    wr32(p, (uint32_t)crc32(0L, b, (uInt)(size - 4)));
    int rc = dacc_write_file_atomic(path, b, size, e);
    free(b);
    return rc;
}

void dacc_pred_free(dacc_pred *p) {
    if (!p) return;
    free(p->pred);
    free(p->label);
    memset(p, 0, sizeof *p);
}

static int read_full(int fd, uint8_t *b, size_t n) {
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, b + got, n - got);
        if (r < 0 && errno == EINTR) continue;
        if (r <= 0) return -1;
        got += (size_t)r;
    }
    return 0;
}

/* The header: magic, version, counts in range and as expected, and the
 * file's size equal to what they imply; nothing is allocated before. */
static int check_header(const char *path, const uint8_t *h, uint64_t size, int want_blocks, int64_t want_n,
                        dacc_err *e) {
    if (memcmp(h, "DACCPRED", 8)) return dacc_fail(e, "%s: not a predictions file (no DACCPRED header)", path);
    if (rd32(h + 8) != 1) return dacc_fail(e, "%s: version %u (this dacc reads 1)", path, rd32(h + 8));
    uint64_t blocks = rd32(h + 12), n = rd32(h + 16);
    if (blocks < 1 || blocks > DACC_PRED_MAX_BLOCKS || n < 1 || n > DACC_PRED_MAX_IMAGES)
        return dacc_fail(e, "%s: implausible header (%llu blocks of %llu images; at most %d of %d)", path,
                         (unsigned long long)blocks, (unsigned long long)n, DACC_PRED_MAX_BLOCKS,
                         DACC_PRED_MAX_IMAGES);
    if ((want_blocks > 0 && blocks != (uint64_t)want_blocks) || (want_n > 0 && n != (uint64_t)want_n))
        return dacc_fail(e, "%s: has %llu blocks of %llu images, expected %d of %lld", path,
                         (unsigned long long)blocks, (unsigned long long)n, want_blocks, (long long)want_n);
    uint64_t want = PRED_HEADER + blocks * n * 2 + 4;
    if (want != size)
        return dacc_fail(e, "%s: %llu bytes, the header implies %llu (truncated?)", path, (unsigned long long)size,
                         (unsigned long long)want);
    return 0;
}

/* One block's records into pred (and label for block 0, else compared).
 * A bad record is noted in *bad (first one only) and reading goes on: a
 * corrupt file is reported as a CRC mismatch first, as when read whole. */
static int read_block(int fd, int k, dacc_pred *p, uLong *crc, uint8_t *buf, char *bad, size_t badn) {
    size_t n = (size_t)p->n;
    if (read_full(fd, buf, 2 * n)) return -1;
    *crc = crc32(*crc, buf, (uInt)(2 * n));
    uint8_t *pred = p->pred + (size_t)k * n;
    for (size_t i = 0; i < n; i++) {
        uint8_t c = buf[2 * i], l = buf[2 * i + 1];
        if (!bad[0] && (c > 9 || l > 9)) snprintf(bad, badn, "class out of range in block %d", k);
        else if (!bad[0] && k > 0 && p->label[i] != l)
            snprintf(bad, badn, "labels of block %d differ from the clean block", k);
        if (k == 0) p->label[i] = l;
        pred[i] = c;
    }
    return 0;
}

static int read_body(const char *path, int fd, dacc_pred *p, uLong crc, dacc_err *e) {
    uint8_t *buf = malloc(2 * (size_t)p->n);
    p->pred = malloc((size_t)p->blocks * (size_t)p->n);
    p->label = malloc((size_t)p->n);
    if (!buf || !p->pred || !p->label) {
        free(buf);
        return dacc_fail(e, "%s: out of memory", path);
    }
    char bad[96] = "";
    int rc = 0;
    for (int k = 0; rc == 0 && k < p->blocks; k++) rc = read_block(fd, k, p, &crc, buf, bad, sizeof bad);
    free(buf);
    uint8_t tail[4];
    if (rc || read_full(fd, tail, 4)) return dacc_fail(e, "%s: short read (truncated?)", path);
    if ((uint32_t)crc != rd32(tail)) return dacc_fail(e, "%s: CRC mismatch (corrupt file)", path);
    if (bad[0]) return dacc_fail(e, "%s: %s", path, bad);
    return 0;
}

int dacc_pred_read(const char *path, int want_blocks, int64_t want_n, dacc_pred *p, dacc_err *e) {
    memset(p, 0, sizeof *p);
    int fd = dacc_open_regular(path, e);
    if (fd < 0) return -1;
    struct stat st;
    uint8_t h[PRED_HEADER];
    int rc = 0;
    if (fstat(fd, &st) != 0) rc = dacc_fail(e, "%s: cannot stat: %s", path, strerror(errno));
    else if (st.st_size < PRED_HEADER + 4 || read_full(fd, h, PRED_HEADER))
        rc = dacc_fail(e, "%s: not a predictions file (no DACCPRED header)", path);
    else rc = check_header(path, h, (uint64_t)st.st_size, want_blocks, want_n, e);
    if (rc == 0) {
        p->blocks = (int)rd32(h + 12);
        p->n = (int64_t)rd32(h + 16);
        rc = read_body(path, fd, p, crc32(0L, h, PRED_HEADER), e);
    }
    close(fd);
    if (rc) dacc_pred_free(p);
    return rc;
}
