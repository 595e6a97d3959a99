/* Minimal test harness: CHECK records a pass or a failure with its location;
 * test_finish() prints "N passed, N failed[, N skipped]" and returns the exit
 * code ctest reads. Random inputs are fresh each run unless DACC_TEST_SEED is
 * set; the seed is printed so a failure can be replayed. */
#ifndef DACC_TEST_HARNESS_H
#define DACC_TEST_HARNESS_H
#include <stdint.h>
#include <stdio.h>

extern int test_passed, test_failed, test_skipped;

#define CHECK(cond, ...)                                                     \
    do {                                                                     \
        if (cond) {                                                          \
            test_passed++;                                                   \
        } else {                                                             \
            test_failed++;                                                   \
            fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);             \
            fprintf(stderr, __VA_ARGS__);                                    \
            fputc('\n', stderr);                                             \
        }                                                                    \
    } while (0)

#define SKIP(...)                                                            \
    do {                                                                     \
        test_skipped++;                                                      \
        fprintf(stderr, "SKIP: ");                                           \
        fprintf(stderr, __VA_ARGS__);                                        \
        fputc('\n', stderr);                                                 \
    } while (0)

/* Seed for this run (from DACC_TEST_SEED or the clock), printed once. */
uint64_t test_seed(void);
/* xorshift-based helpers for test inputs. */
uint64_t test_rand_u64(uint64_t *s);
float test_rand_uniform(uint64_t *s, float lo, float hi);
/* Path under the source tree (DACC_SOURCE_DIR) or a fresh temp dir. */
const char *test_source_path(const char *rel, char *buf, size_t n);
const char *test_tmpdir(void);
int test_finish(void);

#endif
