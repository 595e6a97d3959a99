/* Shared by all C test programs: counters, seeds, paths, the closing line. */
#include "harness.h"
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

int test_passed, test_failed, test_skipped;

uint64_t test_seed(void) {
    static uint64_t seed;
    if (!seed) {
        const char *s = getenv("DACC_TEST_SEED");
        seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
        if (!seed) seed = 1;
        fprintf(stderr, "test seed: DACC_TEST_SEED=%llu\n", (unsigned long long)seed);
    }
    return seed;
}

uint64_t test_rand_u64(uint64_t *s) {
    uint64_t x = *s;
    x ^= x << 13; x ^= x >> 7; x ^= x << 17;
    return *s = x;
}

float test_rand_uniform(uint64_t *s, float lo, float hi) {
    return lo + (hi - lo) * (float)((test_rand_u64(s) >> 40) * (1.0 / 16777216.0));
}

const char *test_source_path(const char *rel, char *buf, size_t n) {
    const char *root = getenv("DACC_SOURCE_DIR");
    snprintf(buf, n, "%s/%s", root ? root : ".", rel);
    return buf;
}

const char *test_tmpdir(void) {
    static char dir[256];
    if (!dir[0]) {
        const char *base = getenv("TMPDIR");
        snprintf(dir, sizeof dir, "%s/dacc-test-XXXXXX", base ? base : "/tmp");
        if (!mkdtemp(dir)) { perror("mkdtemp"); exit(2); }
    }
    return dir;
}

int test_finish(void) {
    if (test_skipped)
        printf("%d passed, %d failed, %d skipped\n", test_passed, test_failed, test_skipped);
    else
        printf("%d passed, %d failed\n", test_passed, test_failed);
    return test_failed ? 1 : 0;
}
