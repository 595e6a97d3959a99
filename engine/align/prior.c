/* The smoothness prior's covariance (see prior.h) and its precision. */
#include "align/prior.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dacc/align.h"

static void centroid(const dacc_cpab *t, int c, double *x, double *y) {
    *x = *y = 0;
    for (int m = 0; m < 3; m++) {
        *x += t->vert[2 * t->tri[3 * c + m]] / 3;
        *y += t->vert[2 * t->tri[3 * c + m] + 1] / 3;
    }
}

/* exp(-dist(c, c2)/l)^2 with l = length x dist(centroid 0, centroid 1). */
static double kernel(const dacc_cpab *t, double length, int c, int c2) {
    double x0, y0, x1, y1;
    centroid(t, 0, &x0, &y0);
    centroid(t, 1, &x1, &y1);
    double l = length * hypot(x1 - x0, y1 - y0);
    centroid(t, c, &x0, &y0);
    centroid(t, c2, &x1, &y1);
    double k = exp(-hypot(x1 - x0, y1 - y0) / l);
    return k * k;
}

double dacc_prior_cov_A(const dacc_cpab *t, double length, double lin_ratio, int c, int q, int c2,
                        int q2) {
    if (q != q2) return 0;
    double var = (q == 2 || q == 5) ? 1.0 : lin_ratio * lin_ratio;
    return var * (c == c2 ? 1.0 : kernel(t, length, c, c2));
}

int dacc_prior_cov_theta(const dacc_cpab *t, double length, double lin_ratio, double *sigma) {
    int nc = t->nc, d = t->d, nrow = 6 * nc;
    double *K = malloc(sizeof(double) * (size_t)nc * nc);
    double *W = malloc(sizeof(double) * (size_t)nrow * d); /* Sigma_A B */
    if (!K || !W) {
        free(K);
        free(W);
        return -1;
    }
    for (int c = 0; c < nc; c++)
        for (int c2 = 0; c2 < nc; c2++) K[(size_t)c * nc + c2] = c == c2 ? 1.0 : kernel(t, length, c, c2);
    for (int c = 0; c < nc; c++)
        for (int q = 0; q < 6; q++) {
            double var = (q == 2 || q == 5) ? 1.0 : lin_ratio * lin_ratio;
            double *w = W + (size_t)(6 * c + q) * d;
            memset(w, 0, sizeof(double) * d);
            for (int c2 = 0; c2 < nc; c2++) {
                double k = var * K[(size_t)c * nc + c2];
                const double *b = t->basis + (size_t)(6 * c2 + q) * d;
                for (int j = 0; j < d; j++) w[j] += k * b[j];
            }
        }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double s = 0;
            for (int r = 0; r < nrow; r++) s += t->basis[(size_t)r * d + i] * W[(size_t)r * d + j];
            sigma[(size_t)i * d + j] = s;
        }
    /* exactly symmetric */
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) {
            double v = 0.5 * (sigma[(size_t)i * d + j] + sigma[(size_t)j * d + i]);
            sigma[(size_t)i * d + j] = sigma[(size_t)j * d + i] = v;
        }
    free(K);
    free(W);
    return 0;
}

int dacc_prior_precision(const dacc_cpab *t, double length, double lin_ratio, double *prec) {
    int d = t->d;
    double *L = malloc(sizeof(double) * (size_t)d * d);
    if (!L || dacc_prior_cov_theta(t, length, lin_ratio, L)) {
        free(L);
        return -1;
    }
    double tr = 0;
    for (int i = 0; i < d; i++) tr += L[(size_t)i * d + i];
    for (int i = 0; i < d * d; i++) L[i] *= d / tr;
    if (dacc_cholesky(L, d)) {
        free(L);
        return -1;
    }
    /* columns of the inverse: solve L L^T x = e_j */
    for (int j = 0; j < d; j++) {
        double *x = prec + (size_t)j * d; /* row j = column j (symmetric) */
        for (int i = 0; i < d; i++) {
            double s = i == j;
            for (int k = 0; k < i; k++) s -= L[(size_t)i * d + k] * x[k];
            x[i] = s / L[(size_t)i * d + i];
        }
        for (int i = d - 1; i >= 0; i--) {
            double s = x[i];
            for (int k = i + 1; k < d; k++) s -= L[(size_t)k * d + i] * x[k];
            x[i] = s / L[(size_t)i * d + i];
        }
    }
    for (int i = 0; i < d; i++)
        for (int j = 0; j < i; j++) {
            double v = 0.5 * (prec[(size_t)i * d + j] + prec[(size_t)j * d + i]);
            prec[(size_t)i * d + j] = prec[(size_t)j * d + i] = v;
        }
    free(L);
    return 0;
}
