/* Report statistics (see include/dacc/stats.h for the choices made). */
#include "dacc/stats.h"
#include <math.h>
#include <stddef.h>

static const dacc_interval no_interval = {NAN, NAN, 0};

dacc_interval dacc_wilson(int64_t k, int64_t n) {
    if (n <= 0 || k < 0 || k > n) return no_interval;
    const double z = DACC_Z975, z2 = z * z;
    double nn = (double)n, p = (double)k / nn;
    double denom = 1 + z2 / nn;
    double centre = (p + z2 / (2 * nn)) / denom;
    double half = z / denom * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn));
    dacc_interval r = {centre - half, centre + half, 1};
    /* exact bounds at the edges (the formula gives them up to rounding) */
    if (k == 0) r.lo = 0;
    if (k == n) r.hi = 1;
    if (r.lo < 0) r.lo = 0;
    if (r.hi > 1) r.hi = 1;
    return r;
}

/* t_{0.975, df}, df = 1..30 (standard tables, 6 decimals). */
static const double t975_table[30] = {
    12.706205, 4.302653, 3.182446, 2.776445, 2.570582, 2.446912, 2.364624, 2.306004,
    2.262157,  2.228139, 2.200985, 2.178813, 2.160369, 2.144787, 2.131450, 2.119905,
    2.109816,  2.100922, 2.093024, 2.085963, 2.079614, 2.073873, 2.068658, 2.063899,
    2.059539,  2.055529, 2.051831, 2.048407, 2.045230, 2.042272,
};

double dacc_t975(int df) {
    if (df < 1) return NAN;
    if (df <= 30) return t975_table[df - 1];
    /* Cornish-Fisher: t = z + g1/v + g2/v^2 + g3/v^3 (Abramowitz & Stegun 26.7.5) */
    double z = DACC_Z975, z3 = z * z * z, z5 = z3 * z * z, z7 = z5 * z * z, v = df;
    double g1 = (z3 + z) / 4;
    double g2 = (5 * z5 + 16 * z3 + 3 * z) / 96;
    double g3 = (3 * z7 + 19 * z5 + 17 * z3 - 15 * z) / 384;
    return z + g1 / v + g2 / (v * v) + g3 / (v * v * v);
}

dacc_mean_ci dacc_mean_ci_of(const double *x, int n) {
    dacc_mean_ci r = {n, NAN, NAN, no_interval};
    if (n <= 0) return r;
    double s = 0;
    for (int i = 0; i < n; i++) s += x[i];
    r.mean = s / n;
    if (n < 2) return r;
    double ss = 0; /* two-pass: no cancellation for values close together */
    for (int i = 0; i < n; i++) ss += (x[i] - r.mean) * (x[i] - r.mean);
    r.sd = sqrt(ss / (n - 1));
    double half = dacc_t975(n - 1) * r.sd / sqrt((double)n);
    r.ci = (dacc_interval){r.mean - half, r.mean + half, 1};
    return r;
}

/* Mean, sd and normal interval of a discrete variable given by value/count
 * pairs (value(j) for j = 0..k-1 with counts cnt[j]). */
static dacc_paired discrete_interval(const int64_t *cnt, int k, int blocks, int delta) {
    dacc_paired r = {0, NAN, NAN, NAN, no_interval};
    double s = 0;
    for (int j = 0; j < k; j++) {
        if (cnt[j] < 0) return r;
        r.n += cnt[j];
    }
    if (r.n == 0) return r;
    for (int j = 0; j < k; j++) {
        int c = j / (blocks + 1), m = j % (blocks + 1);
        double v = (double)m / blocks - (delta ? c : 0);
        s += v * (double)cnt[j];
    }
    r.mean = s / (double)r.n;
    if (r.n < 2) return r;
    double ss = 0;
    for (int j = 0; j < k; j++) {
        int c = j / (blocks + 1), m = j % (blocks + 1);
        double v = (double)m / blocks - (delta ? c : 0) - r.mean;
        ss += v * v * (double)cnt[j];
    }
    r.sd = sqrt(ss / (double)(r.n - 1));
    r.se = r.sd / sqrt((double)r.n);
    r.ci = (dacc_interval){r.mean - DACC_Z975 * r.se, r.mean + DACC_Z975 * r.se, 1};
    return r;
}

dacc_paired dacc_paired_delta(const int64_t *hist, int blocks) {
    if (blocks < 1) return (dacc_paired){0, NAN, NAN, NAN, no_interval};
    return discrete_interval(hist, 2 * (blocks + 1), blocks, 1);
}

dacc_paired dacc_xhat_interval(const int64_t *hist, int blocks) {
    if (blocks < 1) return (dacc_paired){0, NAN, NAN, NAN, no_interval};
    return discrete_interval(hist, 2 * (blocks + 1), blocks, 0);
}

double dacc_rel_robustness(double clean, double xhat) {
    if (!(clean > 0) || isnan(xhat)) return NAN;
    return xhat / clean;
}

double dacc_error_ratio(double acc_variant, double acc_original) {
    double eo = 1 - acc_original, ev = 1 - acc_variant;
    if (isnan(ev) || !(eo > 0)) return NAN;
    return ev / eo;
}

double dacc_rel_delta_error(double clean_v, double xhat_v, double clean_o, double xhat_o) {
    double dv = clean_v - xhat_v, d0 = clean_o - xhat_o;
    if (isnan(dv) || isnan(d0) || d0 == 0) return NAN;
    return dv / d0;
}

double dacc_chi2_1_sf(double x) {
    if (isnan(x)) return NAN;
    if (x <= 0) return 1;
    /* X = Z^2: P(X > x) = P(|Z| > sqrt x) = erfc(sqrt(x / 2)) */
    return erfc(sqrt(x / 2));
}

dacc_mcnemar dacc_mcnemar_test(int64_t b, int64_t c) {
    dacc_mcnemar r = {b, c, NAN, NAN, 0};
    if (b < 0 || c < 0) return r;
    int64_t n = b + c;
    if (n == 0) {
        r.p = 1;
        r.exact = 1;
        return r;
    }
    if (n < DACC_MCNEMAR_EXACT_BELOW) {
        int64_t k = b < c ? b : c;
        double coef = 1, tail = 0; /* coef = C(n, i), exact in double for n < 25 */
        for (int64_t i = 0; i <= k; i++) {
            tail += coef;
            coef = coef * (double)(n - i) / (double)(i + 1);
        }
        r.p = fmin(1.0, 2 * tail * ldexp(1.0, -(int)n));
        r.exact = 1;
        return r;
    }
    double d = fabs((double)(b - c)) - 1;
    if (d < 0) d = 0;
    r.stat = d * d / (double)n;
    r.p = dacc_chi2_1_sf(r.stat);
    return r;
}

const char *dacc_signif_marker(double p) {
    if (isnan(p)) return "";
    if (p < 0.001) return "***";
    if (p < 0.01) return "**";
    if (p < 0.05) return "*";
    return "";
}
