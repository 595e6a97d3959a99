/* SHA-256 against the FIPS 180-4 / NIST example vectors, fed in one piece,
 * byte by byte and in random splits, plus the file and gzip-content paths. */
#include "dacc/data.h"
#include "harness.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

static void hex_split(const uint8_t *data, size_t n, uint64_t *rng, char hex[65]) {
    dacc_sha256 s;
    uint8_t d[32];
    dacc_sha256_init(&s);
    size_t i = 0;
    while (i < n) {
        size_t k = (size_t)(test_rand_u64(rng) % 150);
        if (k > n - i) k = n - i;
        dacc_sha256_update(&s, data + i, k);
        i += k;
    }
    dacc_sha256_final(&s, d);
    dacc_sha256_hex(d, hex);
}

int main(void) {
    uint64_t rng = test_seed();
    char hex[65];
    static const struct { const char *msg, *want; } v[] = {
        {"", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"},
        {"abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
        {"abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
         "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
        {"abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmnhijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu",
         "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1"},
    };
    for (size_t i = 0; i < sizeof v / sizeof v[0]; i++) {
        dacc_sha256_mem(v[i].msg, strlen(v[i].msg), hex);
        CHECK(!strcmp(hex, v[i].want), "sha256(\"%s\") = %s, want %s", v[i].msg, hex, v[i].want);
        hex_split((const uint8_t *)v[i].msg, strlen(v[i].msg), &rng, hex);
        CHECK(!strcmp(hex, v[i].want), "split sha256(\"%s\") = %s", v[i].msg, hex);
    }

    /* one million 'a' */
    const char *million = "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0";
    size_t n = 1000000;
    uint8_t *a = malloc(n);
    memset(a, 'a', n);
    dacc_sha256_mem(a, n, hex);
    CHECK(!strcmp(hex, million), "sha256(1e6 x 'a') = %s", hex);
    hex_split(a, n, &rng, hex);
    CHECK(!strcmp(hex, million), "split sha256(1e6 x 'a') = %s", hex);

    /* padding edge cases: lengths 55, 56, 63, 64 must all differ and be stable
     * between one-shot and split feeding */
    for (size_t len = 50; len <= 70; len++) {
        char h1[65], h2[65];
        dacc_sha256_mem(a, len, h1);
        hex_split(a, len, &rng, h2);
        CHECK(!strcmp(h1, h2), "len %zu: one-shot %s != split %s", len, h1, h2);
    }
    /* known: 64 x 'a' */
    dacc_sha256_mem(a, 64, hex);
    CHECK(!strcmp(hex, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df154668eb"),
          "sha256(64 x 'a') = %s", hex);

    /* the file variants */
    char path[512], gzpath[512];
    dacc_err e = {{0}};
    snprintf(path, sizeof path, "%s/million-a", test_tmpdir());
    FILE *f = fopen(path, "wb");
    fwrite(a, 1, n, f);
    fclose(f);
    CHECK(dacc_sha256_file(path, hex, &e) == 0 && !strcmp(hex, million), "file: %s %s", hex,
          e.msg);
    CHECK(dacc_sha256_content(path, hex, &e) == 0 && !strcmp(hex, million), "content raw: %s",
          hex);
    snprintf(gzpath, sizeof gzpath, "%s/million-a.gz", test_tmpdir());
    gzFile g = gzopen(gzpath, "wb");
    gzwrite(g, a, (unsigned)n);
    gzclose(g);
    CHECK(dacc_sha256_content(gzpath, hex, &e) == 0 && !strcmp(hex, million), "content gz: %s",
          hex);
    CHECK(dacc_sha256_file(gzpath, hex, &e) == 0 && strcmp(hex, million), "gz file bytes differ");

    snprintf(path, sizeof path, "%s/does-not-exist", test_tmpdir());
    CHECK(dacc_sha256_file(path, hex, &e) == -1 && strstr(e.msg, "does-not-exist"),
          "missing file error names it: %s", e.msg);
    free(a);
    /* a FIFO fails at once for both hashes (SIGALRM ends a blocked run) */
    {
        char fifo[600];
        dacc_err e2 = {{0}};
        char hx[65];
        snprintf(fifo, sizeof fifo, "%s/fifo", test_tmpdir());
        CHECK(mkfifo(fifo, 0600) == 0, "mkfifo");
        alarm(20);
        CHECK(dacc_sha256_file(fifo, hx, &e2) == -1 && strstr(e2.msg, "not a regular file"),
              "sha256_file on a FIFO: %s", e2.msg);
        CHECK(dacc_sha256_content(fifo, hx, &e2) == -1 && strstr(e2.msg, "not a regular file"),
              "sha256_content on a FIFO: %s", e2.msg);
        alarm(0);
    }
    return test_finish();
}
