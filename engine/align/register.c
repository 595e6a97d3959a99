/* Aligning one pair of images with a CPAB warp: minimise
 *   (1/2 s^2) sum_u (I_a(T_theta(u)) - I_b(u))^2 + (lambda/2) theta^T P theta
 * (P = I, or the normalised precision of the smoothness prior, prior.h)
 * by Levenberg-Marquardt, optionally coarse to fine ([1,1] -> [n/2] -> [n]).
 * The Jacobian is analytic: along each pixel's trajectory we carry the
 * sensitivity of the position to the 6 entries of A_c of every triangle the
 * trajectory has visited (few, since displacements are a few pixels), using
 * the derivative of the very steps the integrator takes (trapezoid rule for
 * the closed-form steps and substeps, exact for the midpoint substeps); only at the end is it
 * mapped to theta through the basis. That is ~10x cheaper than carrying the
 * full 2 x d sensitivity and d+1 times cheaper than finite differences. */
#include "dacc/align.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "align/prior.h"

#define MAX_LEVELS 3
#define MAX_TRACK 16

void dacc_align_settings_default(dacc_align_settings *s) {
    memset(s, 0, sizeof *s);
    s->nx = 4;
    s->ny = 4;
    s->zero_boundary = 0;
    s->pairs_per_class = 1000;
    s->seed = 1;
    s->prior = DACC_PRIOR_SMOOTH;
    s->lambda = 1.0;
    s->prior_length = 10.0;
    s->prior_lin_ratio = 0.42;
    s->noise = 0.2;
    s->blur = 1.0;
    s->trim = 0.1;
    s->eps = 1e-3;
    s->max_iter = 20;
    s->coarse_to_fine = 0;
    s->nsteps = DACC_CPAB_STEPS;
    s->nsub = DACC_CPAB_STEPS;
}

struct dacc_aligner {
    dacc_align_settings s;
    int rows, cols, npix, nlevels, dmax;
    dacc_cpab tess[MAX_LEVELS];
    dacc_cpab_field field[MAX_LEVELS];
    double *prec[MAX_LEVELS]; /* d x d prior precision per level; NULL: identity */
    float *a, *b, *tmp;
    double *pts;   /* npix x 2 transformed grid */
    double *J;     /* npix x d rows (only rows with a non-zero image gradient) */
    double *r;     /* residual per stored row */
    double *H, *M, *g, *theta, *theta_new, *delta, *theta_prev;
};

/* Sensitivity of a trajectory's position to the A entries of the triangles
 * it visited: S[t] is 2 x 6 (row-major) for triangle cell[t]. */
typedef struct track {
    int n, overflow;
    int cell[MAX_TRACK];
    double S[MAX_TRACK][12];
    double Sm[MAX_TRACK][12];
} track;

static int track_slot(track *tr, int c) {
    for (int t = 0; t < tr->n; t++)
        if (tr->cell[t] == c) return t;
    if (tr->n == MAX_TRACK) {
        tr->overflow = 1;
        return -1;
    }
    tr->cell[tr->n] = c;
    memset(tr->S[tr->n], 0, sizeof tr->S[0]);
    memset(tr->Sm[tr->n], 0, sizeof tr->Sm[0]);
    return tr->n++;
}

/* S <- M S (M 2x2) for a 2x6 block. */
static void left2(double *S, double m00, double m01, double m10, double m11) {
    for (int q = 0; q < 6; q++) {
        double s0 = S[q], s1 = S[6 + q];
        S[q] = m00 * s0 + m01 * s1;
        S[6 + q] = m10 * s0 + m11 * s1;
    }
}

/* S += w * (row-mix of G(x)): rows of G are [x y 1 0 0 0] and [0 0 0 x y 1];
 * with m = I this adds w*G, with m = E2 it adds w*E2*G. */
static void add_g(double *S, double w, double m00, double m01, double m10, double m11, double x,
                  double y) {
    double xt[3] = {x, y, 1};
    for (int q = 0; q < 3; q++) {
        S[q] += w * m00 * xt[q];
        S[3 + q] += w * m01 * xt[q];
        S[6 + q] += w * m10 * xt[q];
        S[9 + q] += w * m11 * xt[q];
    }
}

/* A closed-form step x1 = E x~ inside triangle c, with sensitivities:
 * S <- E2 S for every tracked triangle, plus the trapezoid rule for the
 * step's own contribution h/2 (E2 G(x) + G(x1)) to triangle c. */
static void tracked_exact(track *tr, const double *E, int c, double h, double x, double y,
                          double x1, double y1) {
    for (int k = 0; k < tr->n; k++) left2(tr->S[k], E[0], E[1], E[3], E[4]);
    int s = track_slot(tr, c);
    if (s >= 0) {
        add_g(tr->S[s], 0.5 * h, E[0], E[1], E[3], E[4], x, y);
        add_g(tr->S[s], 0.5 * h, 1, 0, 0, 1, x1, y1);
    }
}

/* The integrator of dacc_cpab_transform (one point), plus sensitivities. */
static void transform_tracked(const dacc_cpab_field *f, double p[2], track *tr) {
    const dacc_cpab *t = f->t;
    double x = p[0], y = p[1];
    double h = 1.0 / f->nsteps, dt = 1.0 / ((double)f->nsteps * f->nsub);
    tr->n = 0;
    tr->overflow = 0;
    int c = dacc_cpab_cell(t, x, y);
    for (int n = 0; n < f->nsteps; n++) {
        const double *E = f->E + 6 * c;
        double x1 = E[0] * x + E[1] * y + E[2];
        double y1 = E[3] * x + E[4] * y + E[5];
        if (dacc_cpab_cell(t, x1, y1) == c) {
            tracked_exact(tr, E, c, h, x, y, x1, y1);
            x = x1;
            y = y1;
            continue;
        }
        for (int k = 0; k < f->nsub; k++) {
            const double *Es = f->Es + 6 * c;
            x1 = Es[0] * x + Es[1] * y + Es[2];
            y1 = Es[3] * x + Es[4] * y + Es[5];
            if (dacc_cpab_cell(t, x1, y1) == c) {
                tracked_exact(tr, Es, c, dt, x, y, x1, y1);
                x = x1;
                y = y1;
                continue;
            }
            int ca = c;
            const double *a = f->A + 6 * ca;
            double xm = x + 0.5 * dt * (a[0] * x + a[1] * y + a[2]);
            double ym = y + 0.5 * dt * (a[3] * x + a[4] * y + a[5]);
            int cb = dacc_cpab_cell(t, xm, ym);
            const double *b = f->A + 6 * cb;
            int sa = track_slot(tr, ca), sb = track_slot(tr, cb);
            /* Sm = (I + dt/2 Da) S + dt/2 G(x) [ca] */
            for (int q = 0; q < tr->n; q++) {
                memcpy(tr->Sm[q], tr->S[q], sizeof tr->S[q]);
                left2(tr->Sm[q], 1 + 0.5 * dt * a[0], 0.5 * dt * a[1], 0.5 * dt * a[3],
                      1 + 0.5 * dt * a[4]);
            }
            if (sa >= 0) add_g(tr->Sm[sa], 0.5 * dt, 1, 0, 0, 1, x, y);
            /* S += dt Db Sm + dt G(xm) [cb] */
            for (int q = 0; q < tr->n; q++) {
                double *S = tr->S[q], *Sm = tr->Sm[q];
                for (int j = 0; j < 6; j++) {
                    S[j] += dt * (b[0] * Sm[j] + b[1] * Sm[6 + j]);
                    S[6 + j] += dt * (b[3] * Sm[j] + b[4] * Sm[6 + j]);
                }
            }
            if (sb >= 0) add_g(tr->S[sb], dt, 1, 0, 0, 1, xm, ym);
            x += dt * (b[0] * xm + b[1] * ym + b[2]);
            y += dt * (b[3] * xm + b[4] * ym + b[5]);
            c = dacc_cpab_cell(t, x, y);
        }
    }
    p[0] = x;
    p[1] = y;
}

void dacc_blur_f32(const float *in, int rows, int cols, double sigma, float *out) {
    if (sigma <= 0) {
        memcpy(out, in, sizeof(float) * (size_t)rows * cols);
        return;
    }
    int R = (int)ceil(3 * sigma);
    if (R > 15) R = 15;
    double w[31], sum = 0;
    for (int k = -R; k <= R; k++) sum += w[k + R] = exp(-0.5 * k * k / (sigma * sigma));
    for (int k = 0; k <= 2 * R; k++) w[k] /= sum;
    float *tmp = malloc(sizeof(float) * (size_t)rows * cols);
    if (!tmp) { /* no memory: an unblurred image is still a valid input */
        memcpy(out, in, sizeof(float) * (size_t)rows * cols);
        return;
    }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double s = 0;
            for (int k = -R; k <= R; k++) {
                int cc = c + k < 0 ? 0 : c + k >= cols ? cols - 1 : c + k;
                s += w[k + R] * in[(size_t)r * cols + cc];
            }
            tmp[(size_t)r * cols + c] = (float)s;
        }
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            double s = 0;
            for (int k = -R; k <= R; k++) {
                int rr = r + k < 0 ? 0 : r + k >= rows ? rows - 1 : r + k;
                s += w[k + R] * tmp[(size_t)rr * cols + c];
            }
            out[(size_t)r * cols + c] = (float)s;
        }
    free(tmp);
}

int dacc_cholesky(double *a, int n) {
    for (int j = 0; j < n; j++) {
        double s = a[(size_t)j * n + j];
        for (int k = 0; k < j; k++) s -= a[(size_t)j * n + k] * a[(size_t)j * n + k];
        if (!(s > 0)) return -1;
        double l = sqrt(s);
        a[(size_t)j * n + j] = l;
        for (int i = j + 1; i < n; i++) {
            double v = a[(size_t)i * n + j];
            for (int k = 0; k < j; k++) v -= a[(size_t)i * n + k] * a[(size_t)j * n + k];
            a[(size_t)i * n + j] = v / l;
        }
        for (int i = 0; i < j; i++) a[(size_t)i * n + j] = 0;
    }
    return 0;
}

/* Solves L L^T x = b in place (L from dacc_cholesky). */
static void chol_solve(const double *L, int n, double *b) {
    for (int i = 0; i < n; i++) {
        double s = b[i];
        for (int k = 0; k < i; k++) s -= L[(size_t)i * n + k] * b[k];
        b[i] = s / L[(size_t)i * n + i];
    }
    for (int i = n - 1; i >= 0; i--) {
        double s = b[i];
        for (int k = i + 1; k < n; k++) s -= L[(size_t)k * n + i] * b[k];
        b[i] = s / L[(size_t)i * n + i];
    }
}

void dacc_aligner_free(dacc_aligner *al) {
    if (!al) return;
    for (int l = 0; l < MAX_LEVELS; l++) {
        dacc_cpab_field_free(&al->field[l]);
        dacc_cpab_free(&al->tess[l]);
        free(al->prec[l]);
    }
    free(al->a);
    free(al->b);
    free(al->tmp);
    free(al->J);
    free(al->pts);
    free(al->r);
    free(al->H);
    free(al->M);
    free(al->g);
    free(al->theta);
    free(al->theta_new);
    free(al->delta);
    free(al->theta_prev);
    free(al);
}

int dacc_aligner_new(const dacc_align_settings *s, int rows, int cols, dacc_aligner **out,
                     dacc_err *e) {
    *out = NULL;
    if (rows < 2 || cols < 2)
        return dacc_fail(e, "align: image size %dx%d (need at least 2x2)", rows, cols);
    if (!(s->noise > 0) || !(s->lambda >= 0) || s->max_iter < 1)
        return dacc_fail(e, "align: settings need noise > 0, lambda >= 0, max_iter >= 1");
    if (s->prior != DACC_PRIOR_SMOOTH && s->prior != DACC_PRIOR_ISOTROPIC)
        return dacc_fail(e, "align: unknown prior %d", s->prior);
    if (s->prior == DACC_PRIOR_SMOOTH && !(s->prior_length > 0 && s->prior_lin_ratio > 0))
        return dacc_fail(e, "align: the smooth prior needs length %g > 0 and linear ratio %g > 0",
                         s->prior_length, s->prior_lin_ratio);
    dacc_aligner *al = calloc(1, sizeof *al);
    if (!al) return dacc_fail(e, "align: out of memory");
    al->s = *s;
    al->rows = rows;
    al->cols = cols;
    al->npix = rows * cols;
    int sizes[MAX_LEVELS][2], nl = 0;
    if (s->coarse_to_fine) {
        if (s->nx == s->ny && s->nx > 1) { sizes[nl][0] = 1; sizes[nl++][1] = 1; }
        if (s->nx % 2 == 0 && s->ny % 2 == 0 && s->nx / 2 > 1) {
            sizes[nl][0] = s->nx / 2;
            sizes[nl++][1] = s->ny / 2;
        }
    }
    sizes[nl][0] = s->nx;
    sizes[nl++][1] = s->ny;
    al->nlevels = nl;
    for (int l = 0; l < nl; l++) {
        if (dacc_cpab_init(&al->tess[l], sizes[l][0], sizes[l][1], s->zero_boundary, e) ||
            dacc_cpab_field_init(&al->field[l], &al->tess[l], s->nsteps, s->nsub, e)) {
            dacc_aligner_free(al);
            return dacc_fail_wrap(e, "align");
        }
        if (s->prior == DACC_PRIOR_SMOOTH) {
            int dl = al->tess[l].d;
            al->prec[l] = malloc(sizeof(double) * (size_t)dl * dl);
            if (!al->prec[l] ||
                dacc_prior_precision(&al->tess[l], s->prior_length, s->prior_lin_ratio, al->prec[l])) {
                dacc_aligner_free(al);
                return dacc_fail(e, "align: cannot build the smoothness prior (out of memory or singular)");
            }
        }
        if (al->tess[l].d > al->dmax) al->dmax = al->tess[l].d;
    }
    size_t np = (size_t)al->npix, d = (size_t)al->dmax;
    al->a = malloc(sizeof(float) * np);
    al->b = malloc(sizeof(float) * np);
    al->tmp = malloc(sizeof(float) * np);
    al->J = malloc(sizeof(double) * np * d);
    al->pts = malloc(sizeof(double) * np * 2);
    al->r = malloc(sizeof(double) * np);
    al->H = malloc(sizeof(double) * d * d);
    al->M = malloc(sizeof(double) * d * d);
    al->g = malloc(sizeof(double) * d);
    al->theta = malloc(sizeof(double) * d);
    al->theta_new = malloc(sizeof(double) * d);
    al->delta = malloc(sizeof(double) * d);
    al->theta_prev = malloc(sizeof(double) * d);
    if (!al->a || !al->b || !al->tmp || !al->J || !al->pts || !al->r || !al->H || !al->M || !al->g ||
        !al->theta || !al->theta_new || !al->delta || !al->theta_prev) {
        dacc_aligner_free(al);
        return dacc_fail(e, "align: out of memory");
    }
    *out = al;
    return 0;
}

const dacc_cpab *dacc_aligner_cpab(const dacc_aligner *al) { return &al->tess[al->nlevels - 1]; }

/* Data term sum_u r_u^2 of the current field of level l. */
static double data_ssd(dacc_aligner *al, int l) {
    int R = al->rows, C = al->cols;
    dacc_cpab_transform_grid(&al->field[l], R, C, al->pts);
    double ssd = 0;
    for (int i = 0; i < R * C; i++) {
        double v = dacc_bilinear_f32(al->a, R, C, al->pts[2 * i] * (C - 1), al->pts[2 * i + 1] * (R - 1),
                                     NULL, NULL);
        double d = v - al->b[i];
        ssd += d * d;
    }
    return ssd;
}

/* theta^T P theta (P of level l, or the identity). */
static double prior_quad(const dacc_aligner *al, int l, const double *theta, int d) {
    const double *P = al->prec[l];
    double n2 = 0;
    for (int i = 0; i < d; i++) {
        if (!P) {
            n2 += theta[i] * theta[i];
            continue;
        }
        double s = 0;
        for (int j = 0; j < d; j++) s += P[(size_t)i * d + j] * theta[j];
        n2 += theta[i] * s;
    }
    return n2;
}

static double objective(const dacc_aligner *al, int l, double ssd, const double *theta, int d) {
    return 0.5 * ssd / (al->s.noise * al->s.noise) + 0.5 * al->s.lambda * prior_quad(al, l, theta, d);
}

/* H += lambda P, g += lambda P theta (P of level l, or the identity). */
static void add_prior(dacc_aligner *al, int l, const double *theta, int d) {
    const double *P = al->prec[l];
    for (int i = 0; i < d; i++) {
        if (!P) {
            al->H[(size_t)i * d + i] += al->s.lambda;
            al->g[i] += al->s.lambda * theta[i];
            continue;
        }
        double s = 0;
        for (int j = 0; j < d; j++) {
            al->H[(size_t)i * d + j] += al->s.lambda * P[(size_t)i * d + j];
            s += P[(size_t)i * d + j] * theta[j];
        }
        al->g[i] += al->s.lambda * s;
    }
}

/* Linearise at the current field of level l: fills H (upper triangle and
 * mirrored) and g; returns the data term sum r^2. */
static double linearise(dacc_aligner *al, int l, const double *theta) {
    const dacc_cpab *t = &al->tess[l];
    const dacc_cpab_field *f = &al->field[l];
    int R = al->rows, C = al->cols, d = t->d;
    double inv_s2 = 1.0 / (al->s.noise * al->s.noise);
    double sx = 1.0 / (C - 1), sy = 1.0 / (R - 1); /* as dacc_cpab_transform_grid */
    track tr;
    int nrow = 0;
    double ssd = 0;
    for (int r = 0; r < R; r++)
        for (int c = 0; c < C; c++) {
            double p[2] = {c * sx, r * sy};
            transform_tracked(f, p, &tr);
            double gx, gy;
            double v = dacc_bilinear_f32(al->a, R, C, p[0] * (C - 1), p[1] * (R - 1), &gx, &gy);
            double res = v - al->b[(size_t)r * C + c];
            ssd += res * res;
            gx *= C - 1; /* d/dx in [0,1] coordinates */
            gy *= R - 1;
            if ((gx == 0 && gy == 0) || tr.overflow) continue;
            double *J = al->J + (size_t)nrow * d;
            memset(J, 0, sizeof(double) * d);
            for (int k = 0; k < tr.n; k++) {
                const double *S = tr.S[k];
                for (int q = 0; q < 6; q++) {
                    double w = gx * S[q] + gy * S[6 + q];
                    if (w == 0) continue;
                    const double *B = t->basis + (size_t)(6 * tr.cell[k] + q) * d;
                    for (int j = 0; j < d; j++) J[j] += w * B[j];
                }
            }
            al->r[nrow++] = res;
        }
    /* H = J^T J / s^2 + lambda P, g = J^T r / s^2 + lambda P theta */
    for (int i = 0; i < d; i++) {
        double *Hi = al->H + (size_t)i * d;
        for (int k = i; k < d; k++) Hi[k] = 0;
        al->g[i] = 0;
    }
    /* four rows of J per pass over H: a quarter of the loads and stores of H */
    int n = 0;
    for (; n + 4 <= nrow; n += 4) {
        const double *J0 = al->J + (size_t)n * d, *J1 = J0 + d, *J2 = J1 + d, *J3 = J2 + d;
        const double *rr = al->r + n;
        for (int i = 0; i < d; i++) {
            double a0 = J0[i], a1 = J1[i], a2 = J2[i], a3 = J3[i];
            al->g[i] += a0 * rr[0] + a1 * rr[1] + a2 * rr[2] + a3 * rr[3];
            double *Hi = al->H + (size_t)i * d;
            for (int k = i; k < d; k++) Hi[k] += a0 * J0[k] + a1 * J1[k] + a2 * J2[k] + a3 * J3[k];
        }
    }
    for (; n < nrow; n++) {
        const double *J = al->J + (size_t)n * d;
        double rn = al->r[n];
        for (int i = 0; i < d; i++) {
            double ji = J[i];
            al->g[i] += ji * rn;
            double *Hi = al->H + (size_t)i * d;
            for (int k = i; k < d; k++) Hi[k] += ji * J[k];
        }
    }
    for (int i = 0; i < d; i++) {
        double *Hi = al->H + (size_t)i * d;
        for (int k = i; k < d; k++) {
            Hi[k] *= inv_s2;
            al->H[(size_t)k * d + i] = Hi[k];
        }
        al->g[i] *= inv_s2;
    }
    add_prior(al, l, theta, d);
    return ssd;
}

/* Levenberg-Marquardt on level l from al->theta; leaves the result in
 * al->theta and the level's field set to it. Returns accepted steps. */
static int lm(dacc_aligner *al, int l) {
    const dacc_cpab *t = &al->tess[l];
    dacc_cpab_field *f = &al->field[l];
    int d = t->d, accepted = 0;
    dacc_cpab_field_set(f, al->theta, 1.0);
    double fcur = objective(al, l, linearise(al, l, al->theta), al->theta, d);
    double mu = 1e-3;
    for (int it = 0; it < al->s.max_iter; it++) {
        int ok = 0;
        double fnew = 0;
        while (mu < 1e8) {
            for (int i = 0; i < d * d; i++) al->M[i] = al->H[i];
            for (int i = 0; i < d; i++) al->M[(size_t)i * d + i] *= 1 + mu;
            if (dacc_cholesky(al->M, d)) {
                mu *= 5;
                continue;
            }
            for (int i = 0; i < d; i++) al->delta[i] = -al->g[i];
            chol_solve(al->M, d, al->delta);
            for (int i = 0; i < d; i++) al->theta_new[i] = al->theta[i] + al->delta[i];
            dacc_cpab_field_set(f, al->theta_new, 1.0);
            fnew = objective(al, l, data_ssd(al, l), al->theta_new, d);
            if (fnew < fcur) {
                ok = 1;
                break;
            }
            mu *= 5;
        }
        if (!ok) {
            dacc_cpab_field_set(f, al->theta, 1.0);
            break;
        }
        accepted++;
        double rel = (fcur - fnew) / (fcur > 1e-300 ? fcur : 1e-300);
        memcpy(al->theta, al->theta_new, sizeof(double) * d);
        mu = mu * 0.3 < 1e-9 ? 1e-9 : mu * 0.3;
        if (rel < 1e-4 || it + 1 == al->s.max_iter) break;
        fcur = objective(al, l, linearise(al, l, al->theta), al->theta, d);
    }
    return accepted;
}

void dacc_aligner_pair_f32(dacc_aligner *al, const float *a, const float *b, double *theta,
                           dacc_align_result *res) {
    if (a != al->a) memcpy(al->a, a, sizeof(float) * (size_t)al->npix);
    if (b != al->b) memcpy(al->b, b, sizeof(float) * (size_t)al->npix);
    double ssd0 = 0;
    for (int i = 0; i < al->npix; i++) {
        double dd = (double)al->a[i] - al->b[i];
        ssd0 += dd * dd;
    }
    int iters = 0;
    for (int l = 0; l < al->nlevels; l++) {
        if (l == 0) {
            memset(al->theta, 0, sizeof(double) * al->tess[0].d);
        } else {
            memcpy(al->theta_prev, al->theta, sizeof(double) * al->tess[l - 1].d);
            dacc_cpab_project(&al->tess[l - 1], al->theta_prev, &al->tess[l], al->theta);
        }
        iters += lm(al, l);
    }
    int last = al->nlevels - 1;
    double ssd1 = data_ssd(al, last);
    memcpy(theta, al->theta, sizeof(double) * al->tess[last].d);
    if (res) {
        res->rms_before = sqrt(ssd0 / al->npix);
        res->rms_after = sqrt(ssd1 / al->npix);
        res->iterations = iters;
    }
}

void dacc_aligner_pair_u8(dacc_aligner *al, const uint8_t *a, const uint8_t *b, double *theta,
                          dacc_align_result *res) {
    for (int i = 0; i < al->npix; i++) al->tmp[i] = a[i] * (1.0f / 255.0f);
    dacc_blur_f32(al->tmp, al->rows, al->cols, al->s.blur, al->a);
    for (int i = 0; i < al->npix; i++) al->tmp[i] = b[i] * (1.0f / 255.0f);
    dacc_blur_f32(al->tmp, al->rows, al->cols, al->s.blur, al->b);
    dacc_aligner_pair_f32(al, al->a, al->b, theta, res);
}
