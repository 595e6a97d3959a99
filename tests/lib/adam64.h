/* Adam in double for the training-step tests (test_determinism,
 * test_train_f64): the update a float step's Adam should have made, and how
 * far the float update is from it. */
#ifndef DACC_TEST_ADAM64_H
#define DACC_TEST_ADAM64_H
#include <math.h>
#include <stdint.h>

/* The update of one parameter at Adam step t (1 for the first) from the
 * moments m0, v0 before it and gradient g, with dacc_model_adam_step's float
 * constants (1 - 0.999f is 0.00099998713 in float, 1.3e-5 off 0.001, which
 * would show as a 6.5e-6 relative error); *mag (if given) gets the update
 * the magnitudes of m's two terms would give: the scale of m's float
 * rounding when they cancel. */
static inline double test_adam64(double m0, double v0, int64_t t, double g, double lr, double *mag) {
    const double b1 = 0.9f, b2 = 0.999f, c1 = 1.0f - 0.9f, c2 = 1.0f - 0.999f;
    double bc1 = (float)(1 - pow(0.9, (double)t)), bc2 = (float)(1 - pow(0.999, (double)t));
    double m = b1 * m0 + c1 * g, v = b2 * v0 + c2 * g * g;
    double k = lr / bc1 / (sqrt(v / bc2) + (double)1e-8f);
    if (mag) *mag = k * (b1 * fabs(m0) + c1 * fabs(g));
    return -k * m;
}

/* sqrt(v-hat) at step t after gradient g: the RMS of the gradients so
 * far, Adam's divisor (without eps), as test_adam64 computes it. */
static inline double test_adam64_rms(double v0, int64_t t, double g) {
    const double b2 = 0.999f, c2 = 1.0f - 0.999f;
    const double bc2 = (float)(1 - pow(0.999, (double)t));
    return sqrt((b2 * v0 + c2 * g * g) / bc2);
}

/* |update - u64| / (tol mag + 2 ulp(p)): <= 1 when a float update of a
 * parameter p0 is Adam's to float rounding (the ulps are p -= u's
 * rounding: an update of 1e-3 on a weight of 1 keeps ~4 digits). */
static inline double test_adam_ratio(double p0, double update, double u64, double mag, double tol) {
    double p = fmax(fabs(p0), fabs(p0 + update));
    double ulp = ldexp(1.0, ilogb(p > 0 ? p : 1e-30) - 23);
    return fabs(update - u64) / (tol * mag + 2 * ulp + 1e-300);
}
#endif
