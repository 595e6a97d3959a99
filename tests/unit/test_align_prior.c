/* The authors' CPA space and prior (docs/ALIGNMNIST.md): the free-boundary
 * ("valid outside") space's dimension and continuity inside and outside the
 * square, the smoothness prior's covariance against a hand computation,
 * samples from it being smoother than isotropic ones, and the displacement
 * statistics: recorded by the generator, recovered by --measure. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "align/cpab.h"
#include "align/prior.h"
#include "dacc/align.h"
#include "dacc/alignmnist.h"
#include "dacc/npz.h"
#include "harness.h"

static uint64_t rs;

static double urand(double lo, double hi) { return test_rand_uniform(&rs, (float)lo, (float)hi); }

/* Standard normal (Box-Muller) from the test stream. */
static double nrand(void) {
    double u = urand(1e-7, 1), v = urand(0, 1);
    return sqrt(-2 * log(u)) * cos(6.283185307179586 * v);
}

static void test_free_dimensions(void) {
    /* d = 2 #vertices - 4(nx-1) - 4(ny-1), #vertices = (nx+1)(ny+1) + nx ny;
     * 58 for [4,4] as in CPAB_DA (utils_func.py: np.empty((0,58))); on [2,2]
     * two of the eight constraints are dependent (d = 20, measured) */
    int sizes[5][3] = {{4, 4, 58}, {3, 3, 34}, {2, 2, 20}, {1, 1, 10}, {2, 3, 24}};
    for (int k = 0; k < 5; k++) {
        dacc_cpab t;
        dacc_err e;
        int rc = dacc_cpab_init(&t, sizes[k][0], sizes[k][1], 0, &e);
        CHECK(rc == 0, "init [%d,%d] free: %s", sizes[k][0], sizes[k][1], rc ? e.msg : "");
        if (rc) continue;
        CHECK(t.d == sizes[k][2],
              "[%d,%d] free: d = %d, want %d", sizes[k][0], sizes[k][1], t.d, sizes[k][2]);
        double worst = 0;
        for (int a = 0; a < t.d; a++)
            for (int b = 0; b < t.d; b++) {
                double s = 0;
                for (int r = 0; r < 6 * t.nc; r++)
                    s += t.basis[(size_t)r * t.d + a] * t.basis[(size_t)r * t.d + b];
                worst = fmax(worst, fabs(s - (a == b)));
            }
        CHECK(worst < 1e-12, "[%d,%d] free: basis not orthonormal (%g)", sizes[k][0], sizes[k][1], worst);
        dacc_cpab_free(&t);
    }
}

/* Largest velocity jump between consecutive points 1e-5 apart along lines
 * through the inside and the outside of the square (crossing every edge and
 * every outward extension line), and the largest velocity seen. */
static void scan_jumps(const dacc_cpab *t, const double *A, double *jump, double *vmax) {
    const double lines[6] = {-0.3, 0.13, 0.5, 0.77, 1.0001, 1.4};
    double h = 1e-5;
    *jump = *vmax = 0;
    for (int dir = 0; dir < 2; dir++)
        for (int l = 0; l < 6; l++) {
            double prev[2] = {0, 0};
            for (int s = 0; s <= 200000; s++) {
                double a = -0.5 + s * h, x = dir ? lines[l] : a, y = dir ? a : lines[l], v[2];
                dacc_cpab_velocity(t, A, -1, x, y, v);
                if (s) *jump = fmax(*jump, fabs(v[0] - prev[0]) + fabs(v[1] - prev[1]));
                *vmax = fmax(*vmax, fabs(v[0]) + fabs(v[1]));
                prev[0] = v[0];
                prev[1] = v[1];
            }
        }
}

static void test_free_continuity(void) {
    for (int zb = 0; zb < 2; zb++) {
        dacc_cpab t;
        dacc_err e;
        if (dacc_cpab_init(&t, 4, 4, zb, &e)) {
            CHECK(0, "%s", e.msg);
            return;
        }
        double theta[64], A[384], jump, vmax, worst = 0;
        for (int trial = 0; trial < 3; trial++) {
            for (int j = 0; j < t.d; j++) theta[j] = urand(-1, 1);
            dacc_cpab_theta_to_A(&t, theta, A);
            scan_jumps(&t, A, &jump, &vmax);
            worst = fmax(worst, jump / vmax);
        }
        /* a smooth field changes by ~|grad v| 1e-5 between samples; a jump at
         * an extension line is O(|v|). The zero-boundary space is not built
         * to be continuous outside: that it fails shows the scan can fail. */
        if (!zb)
            CHECK(worst < 1e-3, "free boundary: velocity jumps by %.2e x max |v| inside or outside", worst);
        else
            CHECK(worst > 1e-2, "zero boundary: no jump outside found (%.2e): the scan cannot detect jumps", worst);
        dacc_cpab_free(&t);
    }
}

/* Sigma_A and Sigma_theta on [1,1] (4 triangles) against hand values. */
static void test_prior_hand(void) {
    dacc_cpab t;
    dacc_err e;
    if (dacc_cpab_init(&t, 1, 1, 0, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    const double L = 10, r = 0.42;
    /* centroids (0.5,1/6), (5/6,0.5), (0.5,5/6), (1/6,0.5): neighbours sqrt(2)/3
     * apart, opposite ones 2/3; l = 10 sqrt(2)/3; exp(-d/l)^2 */
    double c01 = exp(-0.2), c02 = exp(-2 * (2.0 / 3) / (10 * sqrt(2) / 3));
    CHECK(fabs(c01 - 0.8187307531) < 1e-9 && fabs(c02 - 0.7536383164) < 1e-9, "hand constants");
    struct { int c, q, c2, q2; double want; } cases[] = {
        {0, 2, 0, 2, 1.0},         {0, 0, 0, 0, r * r},      {0, 2, 1, 2, c01},
        {1, 5, 3, 5, c02},         {0, 0, 1, 0, r * r * c01}, {2, 4, 0, 4, r * r * c02},
        {0, 0, 1, 1, 0.0},         {3, 2, 3, 5, 0.0},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        double v = dacc_prior_cov_A(&t, L, r, cases[k].c, cases[k].q, cases[k].c2, cases[k].q2);
        CHECK(fabs(v - cases[k].want) < 1e-12, "Sigma_A[(%d,%d),(%d,%d)] = %.12f, want %.12f", cases[k].c,
              cases[k].q, cases[k].c2, cases[k].q2, v, cases[k].want);
    }
    /* The constant field v = (1, 0) lies in the space; as a unit vector u of
     * stacked A it has 1/2 at each triangle's x-translation, so
     * u^T Sigma_A u = (4 + 8 c01 + 4 c02) / 4, and because B B^T u = u this
     * equals theta_u^T Sigma_theta theta_u with theta_u = B^T u. The same for
     * v = (0, 1), and the field v = (x, 0) has u^T Sigma_A u computed from
     * its A_c = [1 0 0; 0 0 0]: r^2 (4 + 8 c01 + 4 c02) / 4. */
    double sig[100], u[24], th[10];
    CHECK(dacc_prior_cov_theta(&t, L, r, sig) == 0, "cov_theta failed");
    const double want_t = (4 + 8 * c01 + 4 * c02) / 4; /* 3.391100... */
    int entry[3] = {2, 5, 0};
    double want[3] = {want_t, want_t, r * r * want_t};
    for (int k = 0; k < 3; k++) {
        memset(u, 0, sizeof u);
        for (int c = 0; c < 4; c++) u[6 * c + entry[k]] = 0.5;
        dacc_cpab_A_to_theta(&t, u, th);
        double n2 = 0, q = 0;
        for (int i = 0; i < t.d; i++) {
            n2 += th[i] * th[i];
            for (int j = 0; j < t.d; j++) q += th[i] * sig[i * t.d + j] * th[j];
        }
        CHECK(fabs(n2 - 1) < 1e-12, "field %d is not in the space (|B^T u| = %g)", k, sqrt(n2));
        CHECK(fabs(q - want[k]) < 1e-10, "field %d: theta^T Sigma theta = %.10f, hand value %.10f", k, q, want[k]);
    }
    CHECK(fabs(want_t - 3.3911) < 1e-4, "hand value %.6f", want_t);
    dacc_cpab_free(&t);
}

/* Roughness of a field: mean |v(p) - v(q)|^2 over horizontally and vertically
 * neighbouring pixel centres of a 28x28 grid, divided by mean |v(p)|^2. */
static double roughness(const dacc_cpab *t, const double *theta) {
    double A[6 * 4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE], v[28][28][2], num = 0, den = 0;
    dacc_cpab_theta_to_A(t, theta, A);
    for (int r = 0; r < 28; r++)
        for (int c = 0; c < 28; c++) dacc_cpab_velocity(t, A, -1, c / 27.0, r / 27.0, v[r][c]);
    int n = 0;
    for (int r = 0; r < 28; r++)
        for (int c = 0; c < 28; c++) {
            den += v[r][c][0] * v[r][c][0] + v[r][c][1] * v[r][c][1];
            for (int k = 0; k < 2; k++) {
                int r2 = r + (k == 1), c2 = c + (k == 0);
                if (r2 >= 28 || c2 >= 28) continue;
                double dx = v[r][c][0] - v[r2][c2][0], dy = v[r][c][1] - v[r2][c2][1];
                num += dx * dx + dy * dy;
                n++;
            }
        }
    return (num / n) / (den / (28 * 28));
}

static void test_prior_smoother(void) {
    dacc_cpab t;
    dacc_err e;
    if (dacc_cpab_init(&t, 4, 4, 0, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    int d = t.d;
    double *L = malloc(sizeof(double) * d * d), *prec = malloc(sizeof(double) * d * d);
    double z[64], th[64], rs_smooth = 0, rs_iso = 0;
    CHECK(dacc_prior_cov_theta(&t, 10, 0.42, L) == 0 && dacc_cholesky(L, d) == 0,
          "Sigma_theta not positive definite");
    const int N = 200;
    for (int s = 0; s < N; s++) {
        for (int j = 0; j < d; j++) z[j] = nrand();
        for (int i = 0; i < d; i++) {
            th[i] = 0;
            for (int j = 0; j <= i; j++) th[i] += L[i * d + j] * z[j];
        }
        rs_smooth += roughness(&t, th) / N;
        rs_iso += roughness(&t, z) / N;
    }
    fprintf(stderr, "roughness (mean squared velocity difference of neighbouring pixels / mean squared "
                    "velocity): smooth prior %.5f, isotropic %.5f\n", rs_smooth, rs_iso);
    CHECK(rs_smooth * 5 < rs_iso, "smooth-prior samples are not 5x smoother: %.5f vs %.5f", rs_smooth, rs_iso);
    /* the precision the fit uses is the inverse of the trace-normalised covariance */
    CHECK(dacc_prior_precision(&t, 10, 0.42, prec) == 0, "precision failed");
    dacc_prior_cov_theta(&t, 10, 0.42, L);
    double tr = 0, worst = 0;
    for (int i = 0; i < d; i++) tr += L[i * d + i];
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int k = 0; k < d; k++) s += prec[i * d + k] * L[k * d + j] * d / tr;
            worst = fmax(worst, fabs(s - (i == j)));
        }
    CHECK(worst < 1e-8, "precision x normalised covariance differs from I by %g", worst);
    free(L);
    free(prec);
    dacc_cpab_free(&t);
}

/* Smooth blob "digits" with ink (>= 128) on a few strokes. */
static void blob_digits(dacc_images *d, int per_class) {
    enum { R = 28, C = 28 };
    d->n = 10 * per_class;
    d->rows = R;
    d->cols = C;
    d->pixels = calloc((size_t)d->n * R * C, 1);
    d->labels = malloc((size_t)d->n);
    for (int64_t i = 0; i < d->n; i++) {
        int k = (int)(i % 10);
        d->labels[i] = (uint8_t)k;
        double sx = urand(-1.5, 1.5), sy = urand(-1.5, 1.5);
        for (int r = 0; r < R; r++)
            for (int c = 0; c < C; c++) {
                double x = c - 13.5 - sx, y = r - 13.5 - sy, v = 0;
                for (int m = 0; m < 3; m++) {
                    double ang = 0.7 * k + 2.1 * m, cx = 5 * cos(ang), cy = 5 * sin(ang);
                    v += exp(-((x - cx) * (x - cx) + (y - cy) * (y - cy)) / 6.0);
                }
                d->pixels[((size_t)i * R + r) * C + c] = (uint8_t)lround(255 * fmin(1.0, v));
            }
    }
}

/* A set generated with known theta (the model's samples) records its
 * displacement statistics; --measure recovers them by registration. */
static void test_measure(void) {
    dacc_err e;
    dacc_images imgs = {0};
    blob_digits(&imgs, 20); /* 200 images */
    dacc_align_model m;
    memset(&m, 0, sizeof m);
    dacc_align_settings_default(&m.fit);
    m.rows = m.cols = 28;
    m.nclasses = 10;
    dacc_cpab t;
    if (dacc_cpab_init(&t, 4, 4, 0, &e)) {
        CHECK(0, "%s", e.msg);
        return;
    }
    int d = m.d = t.d;
    /* every class: the smoothness prior's covariance, scaled to ~1.5 px */
    double *L = malloc(sizeof(double) * d * d);
    m.chol = calloc((size_t)10 * d * d, sizeof(double));
    dacc_prior_cov_theta(&t, 10, 0.42, L);
    CHECK(dacc_cholesky(L, d) == 0, "prior covariance not positive definite");
    for (int k = 0; k < 10; k++)
        for (int i = 0; i < d * d; i++) m.chol[(size_t)k * d * d + i] = 0.05 * L[i];
    char npz[512];
    snprintf(npz, sizeof npz, "%s/measure.npz", test_tmpdir());
    dacc_disp_stats known, rec, meas;
    int rc = dacc_alignmnist_write(npz, &m, &imgs, 0, 2, 5, 1.0, 2, 0, &known, &e);
    CHECK(rc == 0, "write: %s", rc ? e.msg : "");
    dacc_alignmnist *a = NULL;
    rc = rc ? rc : dacc_alignmnist_open(npz, &imgs, &a, &e);
    CHECK(rc == 0 && dacc_alignmnist_displacement(a, &rec, &e) == 0 &&
              memcmp(&rec, &known, sizeof rec) == 0,
          "the recorded statistics do not read back as written");
    dacc_alignmnist_close(a);
    const int all = DACC_DISP_ROWS - 1;
    CHECK(known.mean[all] > 0.5 && known.mean[all] < 4, "synthetic mean displacement %.3f px (want 0.5..4)",
          known.mean[all]);
    rc = rc ? rc : dacc_align_measure(npz, &imgs, &m.fit, 0, 2, 0, &meas, &e);
    CHECK(rc == 0, "measure: %s", rc ? e.msg : "");
    fprintf(stderr, "displacement known / measured (px): mean %.3f / %.3f, median %.3f / %.3f, p95 %.3f / %.3f, "
                    "max %.3f / %.3f, ink pixels %.0f / %.0f\n",
            known.mean[all], meas.mean[all], known.median[all], meas.median[all], known.p95[all],
            meas.p95[all], known.max[all], meas.max[all], known.count[all], meas.count[all]);
    CHECK(known.count[all] == meas.count[all], "measured over other pixels");
    CHECK(fabs(known.mean[all] - meas.mean[all]) < 0.1, "mean: known %.3f px, measured %.3f px",
          known.mean[all], meas.mean[all]);
    CHECK(fabs(known.median[all] - meas.median[all]) < 0.1, "median: known %.3f px, measured %.3f px",
          known.median[all], meas.median[all]);
    double cls_worst = 0;
    for (int k = 0; k < 10; k++) cls_worst = fmax(cls_worst, fabs(known.mean[k] - meas.mean[k]));
    CHECK(cls_worst < 0.2, "per-class mean off by up to %.3f px", cls_worst);
    /* and the released file's layout without statistics: none recorded */
    free(L);
    free(m.chol);
    dacc_cpab_free(&t);
    dacc_images_free(&imgs);
}

/* The displacement member: absent -> 1; wrong shape or a negative value ->
 * an error naming the file and the member. */
static void test_disp_member(void) {
    dacc_images imgs = {0};
    blob_digits(&imgs, 2); /* 20 images */
    uint8_t *x = malloc((size_t)40 * 784);
    double y[40], v[80]; /* up to 11 x 6 values (the wrong-shape case) */
    memcpy(x, imgs.pixels, (size_t)20 * 784);
    memcpy(x + (size_t)20 * 784, imgs.pixels, (size_t)20 * 784);
    for (int k = 0; k < 40; k++) y[k] = imgs.labels[k % 20];
    for (int k = 0; k < 80; k++) v[k] = 1;
    struct { int rows, cols; double poison; const char *want; } cases[] = {
        {0, 0, 1, NULL}, {11, 5, 1, ""}, {10, 5, 1, "shape"}, {11, 6, 1, "shape"}, {11, 5, -1, "expected >= 0"},
    };
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        char path[512];
        snprintf(path, sizeof path, "%s/disp%zu.npz", test_tmpdir(), c);
        dacc_err e;
        dacc_npz_writer *w;
        int64_t xs[3] = {40, 28, 28}, ys[1] = {40}, ds[2] = {cases[c].rows, cases[c].cols};
        v[7] = cases[c].poison;
        int rc = dacc_npz_writer_open(path, 0, &w, &e);
        rc = rc ? rc : dacc_npz_writer_add(w, "x", "|u1", 3, xs, x, &e);
        rc = rc ? rc : dacc_npz_writer_add(w, "y", "<f8", 1, ys, y, &e);
        if (!rc && cases[c].rows) rc = dacc_npz_writer_add(w, DACC_DISP_MEMBER, "<f8", 2, ds, v, &e);
        rc = rc ? rc : dacc_npz_writer_close(w, &e);
        CHECK(rc == 0, "writing %s: %s", path, rc ? e.msg : "");
        dacc_alignmnist *a;
        if (rc || dacc_alignmnist_open(path, &imgs, &a, &e)) {
            CHECK(0, "open %s: %s", path, e.msg);
            continue;
        }
        dacc_disp_stats ds2;
        int got = dacc_alignmnist_displacement(a, &ds2, &e);
        if (!cases[c].want)
            CHECK(got == 1, "no member: got %d", got);
        else if (!*cases[c].want)
            CHECK(got == 0 && ds2.mean[3] == 1, "good member: got %d", got);
        else
            CHECK(got < 0 && strstr(e.msg, cases[c].want) && strstr(e.msg, path) &&
                      strstr(e.msg, DACC_DISP_MEMBER),
                  "case %zu: got %d, message '%s'", c, got, got < 0 ? e.msg : "");
        dacc_alignmnist_close(a);
    }
    free(x);
    dacc_images_free(&imgs);
}

int main(void) {
    rs = test_seed();
    test_free_dimensions();
    test_free_continuity();
    test_prior_hand();
    test_prior_smoother();
    test_measure();
    test_disp_member();
    return test_finish();
}
