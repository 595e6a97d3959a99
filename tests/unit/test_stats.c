/* engine/stats.c against values computed by hand (the arithmetic is in the
 * comments; z = 1.959963984540054, z^2 = 3.841458821), edge cases included. */
#include "dacc/stats.h"
#include "harness.h"
#include <math.h>
#include <string.h>

#define NEAR(a, b, tol) (fabs((a) - (b)) <= (tol))

static void test_wilson(void) {
    /* k=8, n=10: p=0.8, z^2/n = 0.38414588, denom = 1.38414588
     * centre = (0.8 + 0.19207294) / 1.38414588 = 0.71673916
     * half = z/denom * sqrt(0.8*0.2/10 + z^2/400) = 1.41599669 * sqrt(0.016 + 0.00960365)
     *      = 1.41599669 * 0.16001141 = 0.22657869  ->  [0.490162, 0.943318] */
    dacc_interval w = dacc_wilson(8, 10);
    CHECK(w.ok && NEAR(w.lo, 0.490162, 2e-6) && NEAR(w.hi, 0.943318, 2e-6), "wilson 8/10: %f %f", w.lo, w.hi);
    /* k=50, n=100: centre 0.5; half = z/1.03841459 * sqrt(0.0025 + z^2/40000)
     *      = 1.88745838 * 0.05095128 = 0.09616847  ->  [0.403832, 0.596168] */
    w = dacc_wilson(50, 100);
    CHECK(w.ok && NEAR(w.lo, 0.403832, 2e-6) && NEAR(w.hi, 0.596168, 2e-6), "wilson 50/100: %f %f", w.lo, w.hi);
    /* p = 0 (k=0, n=10): centre = 0.19207294/1.38414588 = 0.13876640,
     * half = 1.41599669 * sqrt(0.00960365) = 0.13876640 -> [0, 0.277533] */
    w = dacc_wilson(0, 10);
    CHECK(w.ok && w.lo == 0 && NEAR(w.hi, 0.277533, 2e-6), "wilson 0/10: %f %f", w.lo, w.hi);
    /* p = 1: the mirror image, [1 - 0.277533, 1] */
    w = dacc_wilson(10, 10);
    CHECK(w.ok && w.hi == 1 && NEAR(w.lo, 0.722467, 2e-6), "wilson 10/10: %f %f", w.lo, w.hi);
    /* n = 0: no interval; nonsense counts: none either */
    w = dacc_wilson(0, 0);
    CHECK(!w.ok && isnan(w.lo) && isnan(w.hi), "wilson n=0 has no interval");
    w = dacc_wilson(11, 10);
    CHECK(!w.ok, "wilson k>n has no interval");
    w = dacc_wilson(-1, 10);
    CHECK(!w.ok, "wilson k<0 has no interval");
    /* the interval always holds the estimate and stays in [0,1] */
    for (int64_t k = 0; k <= 7; k++) {
        w = dacc_wilson(k, 7);
        double p = k / 7.0;
        CHECK(w.ok && w.lo >= 0 && w.hi <= 1 && w.lo <= p && p <= w.hi, "wilson %lld/7 holds p", (long long)k);
    }
}

static void test_t(void) {
    CHECK(NEAR(dacc_t975(1), 12.706205, 1e-6), "t(1)");
    CHECK(NEAR(dacc_t975(2), 4.302653, 1e-6), "t(2)");
    CHECK(NEAR(dacc_t975(30), 2.042272, 1e-6), "t(30)");
    /* above the table: tables give t(0.975, 31) = 2.039513, t(1000) = 1.962339 */
    CHECK(NEAR(dacc_t975(31), 2.039513, 1e-5), "t(31) = %f", dacc_t975(31));
    CHECK(NEAR(dacc_t975(1000), 1.962339, 1e-5), "t(1000) = %f", dacc_t975(1000));
    CHECK(isnan(dacc_t975(0)) && isnan(dacc_t975(-3)), "t(df<1) is NaN");
    /* decreasing towards the normal quantile */
    int mono = 1;
    for (int df = 1; df < 200; df++) mono &= dacc_t975(df + 1) < dacc_t975(df) && dacc_t975(df) > DACC_Z975;
    CHECK(mono, "t975 decreases to z");
}

static void test_mean_ci(void) {
    /* {0.99, 0.98, 0.97}: mean 0.98, squares 1e-4 + 0 + 1e-4 -> var 1e-4, sd 0.01
     * half = t(2) * 0.01 / sqrt(3) = 4.302653 * 0.00577350 = 0.02484138 */
    double x[3] = {0.99, 0.98, 0.97};
    dacc_mean_ci m = dacc_mean_ci_of(x, 3);
    CHECK(m.n == 3 && NEAR(m.mean, 0.98, 1e-12) && NEAR(m.sd, 0.01, 1e-12), "mean/sd: %f %f", m.mean, m.sd);
    CHECK(m.ci.ok && NEAR(m.ci.lo, 0.955159, 1e-6) && NEAR(m.ci.hi, 1.004841, 1e-6), "t-interval %f %f", m.ci.lo, m.ci.hi);
    /* two equal values: sd 0, the interval is the point */
    double y[2] = {-0.5, -0.5};
    m = dacc_mean_ci_of(y, 2);
    CHECK(m.ci.ok && m.sd == 0 && m.ci.lo == -0.5 && m.ci.hi == -0.5, "constant values");
    /* {1, 3}: mean 2, sd sqrt(2), half = 12.706205 * sqrt(2) / sqrt(2) = 12.706205 */
    double u[2] = {1, 3};
    m = dacc_mean_ci_of(u, 2);
    CHECK(NEAR(m.ci.lo, 2 - 12.706205, 1e-6) && NEAR(m.ci.hi, 2 + 12.706205, 1e-6), "two seeds");
    /* one seed: a mean but no sd and no interval */
    m = dacc_mean_ci_of(x, 1);
    CHECK(m.n == 1 && m.mean == 0.99 && isnan(m.sd) && !m.ci.ok, "n=1: no interval");
    m = dacc_mean_ci_of(NULL, 0);
    CHECK(m.n == 0 && isnan(m.mean) && !m.ci.ok, "n=0: nothing");
}

static void test_paired(void) {
    /* B = 2, four images (c = clean right, m = transformed blocks right):
     *   (c=1,m=2) d=0   (c=1,m=1) d=-0.5   (c=1,m=0) d=-1   (c=0,m=1) d=+0.5
     * hist[c*3+m]: c0: {0,1,0}  c1: {1,1,1}
     * x = 3/4, x^ = (2+1+0+1)/8 = 1/2, mean d = -0.25 = x^ - x
     * deviations 0.25,-0.25,-0.75,0.75 -> ss 1.25, var 1.25/3, sd 0.645497
     * se = sd/2 = 0.322749, half = z*se = 0.632576 -> [-0.882576, 0.382576] */
    int64_t h[6] = {0, 1, 0, 1, 1, 1};
    dacc_paired p = dacc_paired_delta(h, 2);
    CHECK(p.n == 4 && NEAR(p.mean, -0.25, 1e-12), "paired mean %f", p.mean);
    CHECK(NEAR(p.sd, 0.645497, 1e-6) && NEAR(p.se, 0.322749, 1e-6), "paired sd %f se %f", p.sd, p.se);
    CHECK(p.ci.ok && NEAR(p.ci.lo, -0.882576, 1e-6) && NEAR(p.ci.hi, 0.382576, 1e-6), "paired ci %f %f", p.ci.lo, p.ci.hi);
    /* x^ alone: values m/B = 1, .5, 0, .5: mean .5, ss .5, var 1/6, se 0.204124,
     * half 0.400076 -> [0.099924, 0.900076] */
    p = dacc_xhat_interval(h, 2);
    CHECK(p.ci.ok && NEAR(p.mean, 0.5, 1e-12) && NEAR(p.ci.lo, 0.099924, 1e-6) && NEAR(p.ci.hi, 0.900076, 1e-6),
          "xhat ci %f %f", p.ci.lo, p.ci.hi);
    /* every image right everywhere: d = 0 for all, the point interval [0,0] */
    int64_t all[6] = {0, 0, 0, 0, 0, 500};
    p = dacc_paired_delta(all, 2);
    CHECK(p.ci.ok && p.mean == 0 && p.ci.lo == 0 && p.ci.hi == 0, "all right: point interval");
    /* every image wrong everywhere (p = 0) */
    int64_t none[6] = {500, 0, 0, 0, 0, 0};
    p = dacc_paired_delta(none, 2);
    CHECK(p.ci.ok && p.mean == 0 && p.sd == 0, "all wrong: zero delta");
    /* n = 0 and n = 1: no interval */
    int64_t zero[6] = {0};
    p = dacc_paired_delta(zero, 2);
    CHECK(p.n == 0 && isnan(p.mean) && !p.ci.ok, "n=0 paired");
    int64_t one[6] = {0, 0, 0, 0, 1, 0};
    p = dacc_paired_delta(one, 2);
    CHECK(p.n == 1 && NEAR(p.mean, -0.5, 1e-12) && !p.ci.ok, "n=1 paired: mean, no interval");
    p = dacc_paired_delta(h, 0);
    CHECK(!p.ci.ok && isnan(p.mean), "no blocks: no delta");
    /* B = 5, 10 images: 6 with (1,5) d=0, 2 with (1,4) d=-0.2, 1 with (1,0) d=-1, 1 with (0,5) d=+1
     * mean = (-0.4 - 1 + 1)/10 = -0.04; ss = 6*0.04^2 + 2*0.16^2 + 0.96^2 + 1.04^2
     *      = 0.0096 + 0.0512 + 0.9216 + 1.0816 = 2.064; var = 0.229333, sd = 0.478888,
      * se = 0.151438, half = 0.296812 */
    int64_t h5[12] = {0};
    h5[1 * 6 + 5] = 6;
    h5[1 * 6 + 4] = 2;
    h5[1 * 6 + 0] = 1;
    h5[0 * 6 + 5] = 1;
    p = dacc_paired_delta(h5, 5);
    CHECK(NEAR(p.mean, -0.04, 1e-12) && NEAR(p.sd, 0.478888, 1e-6) && NEAR(p.ci.hi - p.mean, 0.296812, 1e-6),
          "B=5 paired: %f %f %f", p.mean, p.sd, p.ci.hi - p.mean);
}

static void test_relative(void) {
    /* 0.98 / 0.99 = 0.98989899 */
    CHECK(NEAR(dacc_rel_robustness(0.99, 0.98), 0.989899, 1e-6), "relative robustness");
    CHECK(isnan(dacc_rel_robustness(0, 0.5)) && isnan(dacc_rel_robustness(0.9, NAN)), "rel robustness undefined");
    /* (1 - 0.99) / (1 - 0.995) = 0.01 / 0.005 = 2 */
    CHECK(NEAR(dacc_error_ratio(0.99, 0.995), 2, 1e-9), "error ratio");
    CHECK(dacc_error_ratio(1, 0.99) == 0, "error ratio of a perfect variant is 0");
    CHECK(isnan(dacc_error_ratio(0.99, 1)), "error ratio against a perfect Original is undefined");
    /* (0.99 - 0.97) / (0.995 - 0.985) = 0.02 / 0.01 = 2 */
    CHECK(NEAR(dacc_rel_delta_error(0.99, 0.97, 0.995, 0.985), 2, 1e-9), "relative delta error");
    CHECK(isnan(dacc_rel_delta_error(0.99, 0.97, 0.99, 0.99)), "relative delta error: Original lost nothing");
    CHECK(isnan(dacc_rel_delta_error(0.99, NAN, 0.99, 0.98)), "relative delta error: no x^");
}

static void test_mcnemar(void) {
    /* no discordant pairs: no evidence */
    dacc_mcnemar m = dacc_mcnemar_test(0, 0);
    CHECK(m.p == 1 && m.exact, "b+c=0 -> p=1");
    /* b=5, c=0: 2 * C(5,0) / 2^5 = 2/32 = 0.0625 */
    m = dacc_mcnemar_test(5, 0);
    CHECK(m.exact && NEAR(m.p, 0.0625, 1e-12), "exact 5/0: %f", m.p);
    m = dacc_mcnemar_test(0, 5);
    CHECK(m.exact && NEAR(m.p, 0.0625, 1e-12), "exact 0/5 symmetric");
    /* b=1, c=9: 2 * (C(10,0) + C(10,1)) / 2^10 = 22/1024 = 0.021484375 */
    m = dacc_mcnemar_test(1, 9);
    CHECK(m.exact && NEAR(m.p, 0.021484375, 1e-12), "exact 1/9: %f", m.p);
    /* b=c=12: the two tails overlap at 12 -> capped at 1 */
    m = dacc_mcnemar_test(12, 12);
    CHECK(m.exact && m.p == 1, "exact 12/12 = 1");
    /* b=13, c=11 (n=24, still exact): sum_{i<=11} C(24,i) = (2^24 - C(24,12))/2
     * = (16777216 - 2704156)/2 = 7036530; p = 14073060 / 16777216 = 0.838820 */
    m = dacc_mcnemar_test(13, 11);
    CHECK(m.exact && NEAR(m.p, 0.838820, 1e-6), "exact 13/11: %f", m.p);
    /* b=30, c=10 (n=40): chi2 = (20-1)^2/40 = 9.025, p = erfc(sqrt(4.5125)) = 0.002663 */
    m = dacc_mcnemar_test(30, 10);
    CHECK(!m.exact && NEAR(m.stat, 9.025, 1e-12) && NEAR(m.p, 0.002663, 1e-6), "chi2 30/10: %f %f", m.stat, m.p);
    /* b=25, c=0 (n=25, the first chi-square case): (25-1)^2/25 = 23.04, p = 1.5867e-6 */
    m = dacc_mcnemar_test(25, 0);
    CHECK(!m.exact && NEAR(m.stat, 23.04, 1e-12) && NEAR(m.p, 1.5867e-6, 1e-9), "chi2 25/0: %g", m.p);
    /* |b-c| = 1 with the correction: statistic 0, p = 1 */
    m = dacc_mcnemar_test(20, 21);
    CHECK(!m.exact && m.stat == 0 && m.p == 1, "chi2 20/21");
    m = dacc_mcnemar_test(-1, 3);
    CHECK(isnan(m.p), "negative count: no test");
    /* large counts stay finite and tiny */
    m = dacc_mcnemar_test(3000000, 1000);
    CHECK(!m.exact && m.p >= 0 && m.p < 1e-300, "huge b");
    /* chi-square(1) tail at the 95% point is 0.05 */
    CHECK(NEAR(dacc_chi2_1_sf(DACC_Z975 * DACC_Z975), 0.05, 1e-12), "chi2 sf at 3.8415");
    CHECK(dacc_chi2_1_sf(0) == 1 && dacc_chi2_1_sf(-1) == 1, "chi2 sf at 0");
}

static void test_marker(void) {
    CHECK(!strcmp(dacc_signif_marker(0.0005), "***"), "***");
    CHECK(!strcmp(dacc_signif_marker(0.001), "**"), "** at 0.001");
    CHECK(!strcmp(dacc_signif_marker(0.04), "*"), "*");
    CHECK(!strcmp(dacc_signif_marker(0.05), ""), "0.05 not significant");
    CHECK(!strcmp(dacc_signif_marker(NAN), ""), "NaN: no marker");
}

int main(void) {
    test_wilson();
    test_t();
    test_mean_ci();
    test_paired();
    test_relative();
    test_mcnemar();
    test_marker();
    return test_finish();
}
