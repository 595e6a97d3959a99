/* Statistics for the report: intervals for accuracies (one task, over the
 * images) and for their means (over seeds), the paired interval of one task's
 * Δaccuracy, relative measures against Original, and McNemar's test of two
 * networks on the same images. Pure functions of numbers; no I/O. A quantity
 * that cannot be computed (n = 0, a division by zero, one seed) is reported
 * as "absent" (ok = 0 or NaN), never as a made-up value. 95% throughout. */
#ifndef DACC_STATS_H
#define DACC_STATS_H
#include <stdint.h>

/* Two-sided 95% standard normal quantile, Phi^-1(0.975). */
#define DACC_Z975 1.959963984540054

typedef struct dacc_interval {
    double lo, hi;
    int ok; /* 0: no interval (too little data); lo = hi = NaN */
} dacc_interval;

/* Wilson score interval for k successes in n trials (0 <= k <= n). Unlike
 * the Wald interval it stays inside [0,1] and is not degenerate at k = 0 or
 * k = n. n = 0 gives no interval. */
dacc_interval dacc_wilson(int64_t k, int64_t n);

/* The 0.975 quantile of Student's t with df degrees of freedom: a table for
 * df 1..30, above that the Cornish-Fisher expansion around the normal
 * quantile (error < 1e-4 at df 31, converging to 1.95996). df < 1: NaN. */
double dacc_t975(int df);

/* Mean, sample standard deviation (n-1) and the 95% t-interval of the mean
 * over n values (the seeds). n = 0: mean NaN; n = 1: sd NaN and no interval
 * (the caller warns). */
typedef struct dacc_mean_ci {
    int n;
    double mean, sd;
    dacc_interval ci;
} dacc_mean_ci;
dacc_mean_ci dacc_mean_ci_of(const double *x, int n);

/* Δaccuracy of one task over the same images, paired.
 * Per image i: d_i = m_i / B - c_i, where c_i in {0,1} is "clean prediction
 * right" and m_i in 0..B counts the transformed blocks predicted right. The
 * mean of d_i is exactly x^ - x. The interval is the normal approximation
 * mean +- z * s / sqrt(N), s the sample standard deviation of d_i: pairing
 * removes the (large) image-difficulty variance shared by x and x^, and
 * averaging the B blocks per image first respects that the B versions of a
 * digit are not independent. (N is 10000 or 60000, so the CLT is safe; with
 * every d_i equal the interval is the single point.)
 * hist[c * (blocks + 1) + m] counts the images with clean correctness c and
 * m right transformed blocks (2 * (blocks + 1) entries). */
typedef struct dacc_paired {
    int64_t n;
    double mean, sd, se;
    dacc_interval ci;
} dacc_paired;
dacc_paired dacc_paired_delta(const int64_t *hist, int blocks);

/* The same per-image normal interval for x^ alone (mean of m_i / B). */
dacc_paired dacc_xhat_interval(const int64_t *hist, int blocks);

/* Relative measures; NaN when undefined (a zero denominator, NaN input).
 * relative robustness  x^ / x                      (1 = no loss)
 * error ratio          (1 - a_variant) / (1 - a_original)
 * relative Δ error     (x_v - x^_v) / (x_o - x^_o)  = the variant's error
 *                      increase under the transformations over Original's
 *                      (the "relative corruption error" of ImageNet-C). */
double dacc_rel_robustness(double clean, double xhat);
double dacc_error_ratio(double acc_variant, double acc_original);
double dacc_rel_delta_error(double clean_v, double xhat_v, double clean_o, double xhat_o);

/* McNemar's test on paired correctness. b = first (Original) right and
 * second (variant) wrong, c = the reverse. b + c < DACC_MCNEMAR_EXACT_BELOW:
 * exact two-sided binomial p = min(1, 2 * P(X <= min(b,c))), X ~ Bin(b+c,1/2);
 * otherwise chi-square with continuity correction, (|b-c| - 1)^2 / (b+c),
 * 1 degree of freedom. b + c = 0: p = 1 (no discordant pair, no evidence). */
#define DACC_MCNEMAR_EXACT_BELOW 25
typedef struct dacc_mcnemar {
    int64_t b, c;
    double stat; /* chi-square statistic, NaN for the exact test */
    double p;
    int exact;
} dacc_mcnemar;
dacc_mcnemar dacc_mcnemar_test(int64_t b, int64_t c);

/* Upper tail of the chi-square distribution with 1 df: P(X > x). */
double dacc_chi2_1_sf(double x);

/* "***" p < 0.001, "**" < 0.01, "*" < 0.05, "" otherwise or NaN. */
const char *dacc_signif_marker(double p);

#endif
