/* CPA velocity fields on a triangulated unit square and their integration.
 * The field is parametrised by vertex velocities (continuity is then free);
 * zero boundary removes the normal component at border vertices; the free
 * boundary instead constrains neighbouring border triangles to agree
 * outside the square (null space of those constraints). The basis is
 * orthonormalised (modified Gram-Schmidt, twice) in the space of stacked
 * A_c so that an isotropic prior on theta means the same in every direction. */
#include "align/cpab.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static int corner_id(const dacc_cpab *t, int i, int j) { return j * (t->nx + 1) + i; }

/* Inverse of a 3x3 matrix (row-major); returns 0 if singular. */
static int inv3(const double *m, double *out) {
    double c00 = m[4] * m[8] - m[5] * m[7], c01 = m[5] * m[6] - m[3] * m[8],
           c02 = m[3] * m[7] - m[4] * m[6];
    double det = m[0] * c00 + m[1] * c01 + m[2] * c02;
    if (fabs(det) < 1e-300) return 0;
    double id = 1.0 / det;
    out[0] = c00 * id;
    out[1] = (m[2] * m[7] - m[1] * m[8]) * id;
    out[2] = (m[1] * m[5] - m[2] * m[4]) * id;
    out[3] = c01 * id;
    out[4] = (m[0] * m[8] - m[2] * m[6]) * id;
    out[5] = (m[2] * m[3] - m[0] * m[5]) * id;
    out[6] = c02 * id;
    out[7] = (m[1] * m[6] - m[0] * m[7]) * id;
    out[8] = (m[0] * m[4] - m[1] * m[3]) * id;
    return 1;
}

void dacc_cpab_free(dacc_cpab *t) {
    if (!t) return;
    free(t->vert);
    free(t->tri);
    free(t->pinv);
    free(t->basis);
    free(t->basis_t);
    memset(t, 0, sizeof *t);
}

int dacc_cpab_dim(int nx, int ny, int zero_boundary) {
    int nv = (nx + 1) * (ny + 1) + nx * ny;
    /* zero boundary: one normal component per border vertex, two at corners;
     * free: two extra constraints per pair of neighbouring border triangles */
    int removed = zero_boundary ? 2 * (nx + 1) + 2 * (ny + 1) : 4 * (nx - 1) + 4 * (ny - 1);
    return 2 * nv - removed;
}

/* Vertices, triangles and the inverse vertex matrices. */
static int build_geometry(dacc_cpab *t) {
    int nx = t->nx, ny = t->ny, ncorner = (nx + 1) * (ny + 1);
    for (int j = 0; j <= ny; j++)
        for (int i = 0; i <= nx; i++) {
            int v = corner_id(t, i, j);
            t->vert[2 * v] = (double)i / nx;
            t->vert[2 * v + 1] = (double)j / ny;
        }
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            int v = ncorner + j * nx + i;
            t->vert[2 * v] = (i + 0.5) / nx;
            t->vert[2 * v + 1] = (j + 0.5) / ny;
        }
    for (int j = 0; j < ny; j++)
        for (int i = 0; i < nx; i++) {
            int c00 = corner_id(t, i, j), c10 = corner_id(t, i + 1, j);
            int c11 = corner_id(t, i + 1, j + 1), c01 = corner_id(t, i, j + 1);
            int cen = ncorner + j * nx + i;
            int tv[4][3] = {{c00, c10, cen}, {c10, c11, cen}, {c11, c01, cen}, {c01, c00, cen}};
            for (int k = 0; k < 4; k++) {
                int c = 4 * (j * nx + i) + k;
                double P[9];
                for (int m = 0; m < 3; m++) {
                    t->tri[3 * c + m] = tv[k][m];
                    P[3 * m] = t->vert[2 * tv[k][m]];
                    P[3 * m + 1] = t->vert[2 * tv[k][m] + 1];
                    P[3 * m + 2] = 1.0;
                }
                if (!inv3(P, t->pinv + 9 * c)) return -1;
            }
        }
    return 0;
}

/* M (nrow x nfree): column f = the stacked A of the field whose only
 * non-zero vertex velocity component is (free_v[f], free_k[f]) = 1. */
static void vertex_fields(const dacc_cpab *t, const int *free_v, const int *free_k, int nfree,
                          double *M) {
    for (int c = 0; c < t->nc; c++)
        for (int m = 0; m < 3; m++) {
            int v = t->tri[3 * c + m];
            for (int f = 0; f < nfree; f++) {
                if (free_v[f] != v) continue;
                int k = free_k[f];
                /* row k of A_c = Pinv * (vertex values of component k) */
                for (int q = 0; q < 3; q++)
                    M[(size_t)(6 * c + 3 * k + q) * nfree + f] = t->pinv[9 * c + 3 * q + m];
            }
        }
}

/* Rows of K M for the free-boundary constraints: neighbouring border
 * triangles agree at a point one unit outside their shared border vertex
 * (they already agree at the vertex, so then on the whole outward line).
 * Returns the number of rows written to KM (ncon x nfree). */
static int boundary_constraints(const dacc_cpab *t, const double *M, int nfree, double *KM) {
    int nx = t->nx, ny = t->ny, n = 0;
    for (int side = 0; side < 4; side++) {
        int len = side < 2 ? ny : nx; /* 0 left, 1 right: along y; 2 low y, 3 high y: along x */
        for (int s = 0; s + 1 < len; s++) {
            int ca, cb;
            double px, py;
            if (side < 2) {
                int i = side ? nx - 1 : 0, tri = side ? 1 : 3;
                ca = 4 * (s * nx + i) + tri;
                cb = 4 * ((s + 1) * nx + i) + tri;
                px = side ? 2.0 : -1.0;
                py = (double)(s + 1) / ny;
            } else {
                int j = side == 3 ? ny - 1 : 0, tri = side == 3 ? 2 : 0;
                ca = 4 * (j * nx + s) + tri;
                cb = 4 * (j * nx + s + 1) + tri;
                px = (double)(s + 1) / nx;
                py = side == 3 ? 2.0 : -1.0;
            }
            double xt[3] = {px, py, 1};
            for (int k = 0; k < 2; k++, n++)
                for (int f = 0; f < nfree; f++) {
                    double v = 0;
                    for (int q = 0; q < 3; q++)
                        v += xt[q] * (M[(size_t)(6 * ca + 3 * k + q) * nfree + f] -
                                      M[(size_t)(6 * cb + 3 * k + q) * nfree + f]);
                    KM[(size_t)n * nfree + f] = v;
                }
        }
    }
    return n;
}

/* Modified Gram-Schmidt (two passes) of the rows of X (n x m) in place;
 * rows that vanish (norm below tol times their norm before) are dropped.
 * Returns the rank. Fixed order, so the result is identical everywhere. */
static int orthonormal_rows(double *X, int n, int m, double tol) {
    int r = 0;
    for (int f = 0; f < n; f++) {
        double *x = X + (size_t)f * m, n0 = 0;
        for (int k = 0; k < m; k++) n0 += x[k] * x[k];
        for (int pass = 0; pass < 2; pass++)
            for (int g = 0; g < r; g++) {
                const double *y = X + (size_t)g * m;
                double dot = 0;
                for (int k = 0; k < m; k++) dot += y[k] * x[k];
                for (int k = 0; k < m; k++) x[k] -= dot * y[k];
            }
        double nrm = 0;
        for (int k = 0; k < m; k++) nrm += x[k] * x[k];
        if (!(nrm > tol * tol * n0) || nrm < 1e-300) continue;
        nrm = 1.0 / sqrt(nrm);
        double *dst = X + (size_t)r * m;
        for (int k = 0; k < m; k++) dst[k] = x[k] * nrm;
        r++;
    }
    return r;
}

/* The basis (rows of Bt, d x nrow) of the fields spanned by M's columns
 * that satisfy the constraints K: null space of K M in vertex coordinates,
 * mapped to A, orthonormalised there. Returns d, or -1 (out of memory). */
static int constrained_basis(const dacc_cpab *t, const double *M, int nfree, double *Bt) {
    int nrow = 6 * t->nc, maxcon = 4 * (t->nx + t->ny);
    double *KM = calloc((size_t)maxcon * nfree, sizeof(double));
    double *w = malloc(sizeof(double) * (size_t)nfree);
    if (!KM || !w) {
        free(KM);
        free(w);
        return -1;
    }
    int ncon = boundary_constraints(t, M, nfree, KM);
    int rank = orthonormal_rows(KM, ncon, nfree, 1e-9);
    for (int f = 0; f < nfree; f++) {
        /* w = e_f minus its projection on the constraint rows */
        for (int k = 0; k < nfree; k++) w[k] = k == f;
        for (int q = 0; q < rank; q++) {
            const double *Q = KM + (size_t)q * nfree;
            for (int k = 0; k < nfree; k++) w[k] -= Q[f] * Q[k];
        }
        double *b = Bt + (size_t)f * nrow;
        for (int r = 0; r < nrow; r++) {
            double v = 0;
            for (int k = 0; k < nfree; k++) v += M[(size_t)r * nfree + k] * w[k];
            b[r] = v;
        }
    }
    free(KM);
    free(w);
    return orthonormal_rows(Bt, nfree, nrow, 1e-7);
}

int dacc_cpab_init(dacc_cpab *t, int nx, int ny, int zero_boundary, dacc_err *e) {
    memset(t, 0, sizeof *t);
    if (nx < 1 || ny < 1 || nx > DACC_CPAB_MAX_SIDE || ny > DACC_CPAB_MAX_SIDE)
        return dacc_fail(e, "tessellation [%d,%d]: each side must be 1..%d", nx, ny,
                         DACC_CPAB_MAX_SIDE);
    t->nx = nx;
    t->ny = ny;
    t->zero_boundary = zero_boundary ? 1 : 0;
    t->nc = 4 * nx * ny;
    int ncorner = (nx + 1) * (ny + 1);
    t->nv = ncorner + nx * ny;
    int nrow = 6 * t->nc;
    t->vert = malloc(sizeof(double) * 2 * (size_t)t->nv);
    t->tri = malloc(sizeof(int) * 3 * (size_t)t->nc);
    t->pinv = malloc(sizeof(double) * 9 * (size_t)t->nc);
    int *free_v = malloc(sizeof(int) * 2 * (size_t)t->nv);
    int *free_k = malloc(sizeof(int) * 2 * (size_t)t->nv);
    double *M = NULL, *Bt = NULL;
    const char *why = "out of memory";
    if (!t->vert || !t->tri || !t->pinv || !free_v || !free_k) goto fail;
    if (build_geometry(t)) {
        why = "degenerate triangle";
        goto fail;
    }
    int nfree = 0;
    for (int v = 0; v < t->nv; v++) {
        double x = t->vert[2 * v], y = t->vert[2 * v + 1];
        int on_x = t->zero_boundary && v < ncorner && (x == 0.0 || x == 1.0);
        int on_y = t->zero_boundary && v < ncorner && (y == 0.0 || y == 1.0);
        if (!on_x) { free_v[nfree] = v; free_k[nfree++] = 0; }
        if (!on_y) { free_v[nfree] = v; free_k[nfree++] = 1; }
    }
    M = calloc((size_t)nrow * (size_t)nfree, sizeof(double));
    Bt = calloc((size_t)nrow * (size_t)nfree, sizeof(double));
    if (!M || !Bt) goto fail;
    vertex_fields(t, free_v, free_k, nfree, M);
    if (t->zero_boundary) {
        for (int r = 0; r < nrow; r++)
            for (int f = 0; f < nfree; f++) Bt[(size_t)f * nrow + r] = M[(size_t)r * nfree + f];
        t->d = orthonormal_rows(Bt, nfree, nrow, 1e-7);
    } else {
        t->d = constrained_basis(t, M, nfree, Bt);
        if (t->d < 0) goto fail;
    }
    /* the free-boundary constraints can be dependent ([2,2]: d = 20), never more */
    int want = dacc_cpab_dim(nx, ny, t->zero_boundary);
    if (t->zero_boundary ? t->d != want : t->d < want) {
        why = "basis has an unexpected rank";
        goto fail;
    }
    t->basis = malloc(sizeof(double) * (size_t)nrow * (size_t)t->d);
    t->basis_t = malloc(sizeof(double) * (size_t)nrow * (size_t)t->d);
    if (!t->basis || !t->basis_t) goto fail;
    memcpy(t->basis_t, Bt, sizeof(double) * (size_t)nrow * (size_t)t->d);
    for (int r = 0; r < nrow; r++)
        for (int f = 0; f < t->d; f++) t->basis[(size_t)r * t->d + f] = Bt[(size_t)f * nrow + r];
    free(M);
    free(Bt);
    free(free_v);
    free(free_k);
    return 0;
fail:
    free(M);
    free(Bt);
    free(free_v);
    free(free_k);
    dacc_cpab_free(t);
    return dacc_fail(e, "tessellation [%d,%d]: %s", nx, ny, why);
}

void dacc_cpab_theta_to_A(const dacc_cpab *t, const double *theta, double *A) {
    /* column order (axpy with basis_t rows), four at a time: independent
     * multiply-adds and a quarter of the passes over A, instead of 6nc
     * dependent dot products */
    int nrow = 6 * t->nc, d = t->d, j = 0;
    for (int r = 0; r < nrow; r++) A[r] = 0;
    for (; j + 4 <= d; j += 4) {
        const double *b0 = t->basis_t + (size_t)j * nrow, *b1 = b0 + nrow, *b2 = b1 + nrow,
                     *b3 = b2 + nrow;
        double t0 = theta[j], t1 = theta[j + 1], t2 = theta[j + 2], t3 = theta[j + 3];
        for (int r = 0; r < nrow; r++) A[r] += b0[r] * t0 + b1[r] * t1 + b2[r] * t2 + b3[r] * t3;
    }
    for (; j < d; j++) {
        const double *b = t->basis_t + (size_t)j * nrow;
        double th = theta[j];
        for (int r = 0; r < nrow; r++) A[r] += b[r] * th;
    }
}

void dacc_cpab_A_to_theta(const dacc_cpab *t, const double *A, double *theta) {
    int nrow = 6 * t->nc, d = t->d;
    for (int j = 0; j < d; j++) {
        const double *b = t->basis_t + (size_t)j * nrow;
        double s = 0;
        for (int r = 0; r < nrow; r++) s += b[r] * A[r];
        theta[j] = s;
    }
}

void dacc_cpab_velocity(const dacc_cpab *t, const double *A, int c, double x, double y,
                        double v[2]) {
    if (c < 0) c = dacc_cpab_cell(t, x, y);
    const double *a = A + 6 * c;
    v[0] = a[0] * x + a[1] * y + a[2];
    v[1] = a[3] * x + a[4] * y + a[5];
}

void dacc_cpab_project(const dacc_cpab *from, const double *theta_from, const dacc_cpab *to,
                       double *theta_to) {
    enum { MAXC = 4 * DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE,
           MAXV = (DACC_CPAB_MAX_SIDE + 1) * (DACC_CPAB_MAX_SIDE + 1) + DACC_CPAB_MAX_SIDE * DACC_CPAB_MAX_SIDE };
    double Af[6 * MAXC], At[6 * MAXC], vv[2 * MAXV];
    dacc_cpab_theta_to_A(from, theta_from, Af);
    for (int v = 0; v < to->nv; v++)
        dacc_cpab_velocity(from, Af, -1, to->vert[2 * v], to->vert[2 * v + 1], vv + 2 * v);
    for (int c = 0; c < to->nc; c++) {
        const double *pi = to->pinv + 9 * c;
        for (int k = 0; k < 2; k++)
            for (int q = 0; q < 3; q++) {
                double s = 0;
                for (int m = 0; m < 3; m++) s += pi[3 * q + m] * vv[2 * to->tri[3 * c + m] + k];
                At[6 * c + 3 * k + q] = s;
            }
    }
    dacc_cpab_A_to_theta(to, At, theta_to);
}

static void mul3(const double *a, const double *b, double *out) {
    double r[9];
    for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++)
            r[3 * i + j] = a[3 * i] * b[j] + a[3 * i + 1] * b[3 + j] + a[3 * i + 2] * b[6 + j];
    memcpy(out, r, sizeof r);
}

void dacc_expm3(const double *M, double *out) {
    double norm = 0;
    for (int i = 0; i < 3; i++) {
        double s = fabs(M[3 * i]) + fabs(M[3 * i + 1]) + fabs(M[3 * i + 2]);
        if (s > norm) norm = s;
    }
    int sq = 0;
    double scale = 1;
    while (norm * scale > 0.25 && sq < 60) {
        scale *= 0.5;
        sq++;
    }
    double X[9], term[9], S[9];
    for (int i = 0; i < 9; i++) X[i] = M[i] * scale;
    /* Taylor to order 12: with |X| <= 1/4 the remainder is below 1e-16. */
    static const double I3[9] = {1, 0, 0, 0, 1, 0, 0, 0, 1};
    memcpy(S, I3, sizeof S);
    memcpy(term, I3, sizeof term);
    for (int k = 1; k <= 12; k++) {
        mul3(term, X, term);
        for (int i = 0; i < 9; i++) term[i] /= k;
        for (int i = 0; i < 9; i++) S[i] += term[i];
    }
    for (int s = 0; s < sq; s++) mul3(S, S, S);
    memcpy(out, S, sizeof S);
}

int dacc_cpab_field_init(dacc_cpab_field *f, const dacc_cpab *t, int nsteps, int nsub,
                         dacc_err *e) {
    memset(f, 0, sizeof *f);
    if (nsteps < 1 || nsub < 1)
        return dacc_fail(e, "cpab integration: steps %d and substeps %d must be >= 1", nsteps, nsub);
    f->t = t;
    f->nsteps = nsteps;
    f->nsub = nsub;
    f->A = calloc(6 * (size_t)t->nc, sizeof(double));
    f->E = calloc(6 * (size_t)t->nc, sizeof(double));
    f->Es = calloc(6 * (size_t)t->nc, sizeof(double));
    if (!f->A || !f->E || !f->Es) {
        dacc_cpab_field_free(f);
        return dacc_fail(e, "cpab integration: out of memory");
    }
    for (int c = 0; c < t->nc; c++) {
        f->E[6 * c] = f->Es[6 * c] = 1;
        f->E[6 * c + 4] = f->Es[6 * c + 4] = 1;
    }
    return 0;
}

void dacc_cpab_field_free(dacc_cpab_field *f) {
    if (!f) return;
    free(f->A);
    free(f->E);
    free(f->Es);
    memset(f, 0, sizeof *f);
}

/* expm of the affine 3x3 matrix [a0 a1 a2; a3 a4 a5; 0 0 0]: the bottom
 * row stays zero, so powers are [M^k, M^(k-1) v; 0 0 0] with M 2x2 and v the
 * translation; 2x2 arithmetic only. Top two rows written to out. */
static void expm_affine(const double *a, double *out) {
    double m00 = a[0], m01 = a[1], m10 = a[3], m11 = a[4], v0 = a[2], v1 = a[5];
    double norm = fmax(fabs(m00) + fabs(m01) + fabs(v0), fabs(m10) + fabs(m11) + fabs(v1));
    int sq = 0;
    double scale = 1;
    while (norm * scale > 0.25 && sq < 60) {
        scale *= 0.5;
        sq++;
    }
    m00 *= scale, m01 *= scale, m10 *= scale, m11 *= scale, v0 *= scale, v1 *= scale;
    /* S = sum X^k/k!, term T_k = T_{k-1} X / k, with T = [P, w; 0, 0] for k >= 1 */
    double p00 = m00, p01 = m01, p10 = m10, p11 = m11, w0 = v0, w1 = v1;
    double s00 = 1 + p00, s01 = p01, s10 = p10, s11 = 1 + p11, u0 = w0, u1 = w1;
    for (int k = 2; k <= 12; k++) {
        double ik = 1.0 / k;
        double n00 = (p00 * m00 + p01 * m10) * ik, n01 = (p00 * m01 + p01 * m11) * ik;
        double n10 = (p10 * m00 + p11 * m10) * ik, n11 = (p10 * m01 + p11 * m11) * ik;
        double nw0 = (p00 * v0 + p01 * v1) * ik, nw1 = (p10 * v0 + p11 * v1) * ik;
        p00 = n00, p01 = n01, p10 = n10, p11 = n11, w0 = nw0, w1 = nw1;
        s00 += p00, s01 += p01, s10 += p10, s11 += p11, u0 += w0, u1 += w1;
    }
    /* square: [S, u]^2 = [S S, S u + u] */
    for (int k = 0; k < sq; k++) {
        double n00 = s00 * s00 + s01 * s10, n01 = s00 * s01 + s01 * s11;
        double n10 = s10 * s00 + s11 * s10, n11 = s10 * s01 + s11 * s11;
        double nu0 = s00 * u0 + s01 * u1 + u0, nu1 = s10 * u0 + s11 * u1 + u1;
        s00 = n00, s01 = n01, s10 = n10, s11 = n11, u0 = nu0, u1 = nu1;
    }
    out[0] = s00, out[1] = s01, out[2] = u0, out[3] = s10, out[4] = s11, out[5] = u1;
}

/* Composition of affine maps given by their top rows: out = p o q. */
static void affine_mul(const double *p, const double *q, double *out) {
    double r[6] = {p[0] * q[0] + p[1] * q[3], p[0] * q[1] + p[1] * q[4],
                   p[0] * q[2] + p[1] * q[5] + p[2], p[3] * q[0] + p[4] * q[3],
                   p[3] * q[1] + p[4] * q[4], p[3] * q[2] + p[4] * q[5] + p[5]};
    memcpy(out, r, sizeof r);
}

void dacc_cpab_field_set_A(dacc_cpab_field *f, const double *A) {
    const dacc_cpab *t = f->t;
    double hs = 1.0 / ((double)f->nsteps * f->nsub);
    if (A != f->A) memcpy(f->A, A, sizeof(double) * 6 * (size_t)t->nc);
    for (int c = 0; c < t->nc; c++) {
        double M[6];
        for (int i = 0; i < 6; i++) M[i] = f->A[6 * c + i] * hs;
        double *Es = f->Es + 6 * c, *E = f->E + 6 * c;
        expm_affine(M, Es);
        /* E = Es^nsub by binary powering (this is the squaring phase of
         * scaling-and-squaring, so E is as accurate as a direct expm) */
        double base[6], res[6] = {1, 0, 0, 0, 1, 0};
        memcpy(base, Es, sizeof base);
        for (int k = f->nsub; k; k >>= 1) {
            if (k & 1) affine_mul(res, base, res);
            if (k > 1) affine_mul(base, base, base);
        }
        memcpy(E, res, sizeof res);
    }
}

void dacc_cpab_field_set(dacc_cpab_field *f, const double *theta, double sign_scale) {
    dacc_cpab_theta_to_A(f->t, theta, f->A);
    if (sign_scale != 1.0)
        for (int i = 0; i < 6 * f->t->nc; i++) f->A[i] *= sign_scale;
    dacc_cpab_field_set_A(f, f->A);
}

/* Up to BATCH points, step-interleaved: each point's integration is one long
 * dependency chain (cell lookup -> load A -> step -> cell lookup ...), so
 * advancing many points at a time lets the CPU overlap them. Points whose
 * exact step left their triangle are collected and redone together as
 * substeps, again interleaved. Every point sees exactly the
 * arithmetic of a one-point call, so results do not depend on batching. */
#define BATCH 64
static void transform_batch(const dacc_cpab_field *f, double *xs, double *ys, int n) {
    const dacc_cpab *t = f->t;
    const double *A = f->A;
    double dt = 1.0 / ((double)f->nsteps * f->nsub);
    int c[BATCH], cross[BATCH];
    for (int k = 0; k < n; k++) c[k] = dacc_cpab_cell(t, xs[k], ys[k]);
    for (int s = 0; s < f->nsteps; s++) {
        int nc = 0;
        for (int k = 0; k < n; k++) {
            const double *E = f->E + 6 * c[k];
            double x = xs[k], y = ys[k];
            double x1 = E[0] * x + E[1] * y + E[2];
            double y1 = E[3] * x + E[4] * y + E[5];
            if (dacc_cpab_cell(t, x1, y1) == c[k]) {
                xs[k] = x1;
                ys[k] = y1;
            } else {
                cross[nc++] = k;
            }
        }
        if (!nc) continue;
        /* The step left the triangle: redo it as nsub substeps, each in closed
         * form (Es) unless it too leaves its triangle, then as a midpoint step
         * with the field of the triangle each evaluation point is in. */
        for (int sub = 0; sub < f->nsub; sub++)
            for (int q = 0; q < nc; q++) {
                int k = cross[q], ck = c[k];
                double x = xs[k], y = ys[k];
                const double *Es = f->Es + 6 * ck;
                double x1 = Es[0] * x + Es[1] * y + Es[2];
                double y1 = Es[3] * x + Es[4] * y + Es[5];
                if (dacc_cpab_cell(t, x1, y1) == ck) {
                    xs[k] = x1;
                    ys[k] = y1;
                    continue;
                }
                const double *a = A + 6 * ck;
                double xm = x + 0.5 * dt * (a[0] * x + a[1] * y + a[2]);
                double ym = y + 0.5 * dt * (a[3] * x + a[4] * y + a[5]);
                a = A + 6 * dacc_cpab_cell(t, xm, ym);
                xs[k] = x + dt * (a[0] * xm + a[1] * ym + a[2]);
                ys[k] = y + dt * (a[3] * xm + a[4] * ym + a[5]);
                c[k] = dacc_cpab_cell(t, xs[k], ys[k]);
            }
    }
}

void dacc_cpab_transform(const dacc_cpab_field *f, double p[2]) {
    transform_batch(f, &p[0], &p[1], 1);
}

/* T of the pixel centres i0 .. i0+m-1 (row-major) of a rows x cols grid, in
 * [0,1]^2 coordinates: the shared first step of the grid transform and both
 * warps, done BATCH points at a time for the interleaved integrator. */
static void transform_pixels(const dacc_cpab_field *f, int rows, int cols, int i0, int m,
                             double *xs, double *ys) {
    double sx = cols > 1 ? 1.0 / (cols - 1) : 0, sy = rows > 1 ? 1.0 / (rows - 1) : 0;
    for (int k = 0; k < m; k++) {
        xs[k] = ((i0 + k) % cols) * sx;
        ys[k] = ((i0 + k) / cols) * sy;
    }
    transform_batch(f, xs, ys, m);
}

void dacc_cpab_transform_grid(const dacc_cpab_field *f, int rows, int cols, double *pts) {
    int n = rows * cols;
    for (int i0 = 0; i0 < n; i0 += BATCH) {
        int m = n - i0 < BATCH ? n - i0 : BATCH;
        double xs[BATCH], ys[BATCH];
        transform_pixels(f, rows, cols, i0, m, xs, ys);
        for (int k = 0; k < m; k++) {
            pts[2 * (i0 + k)] = xs[k];
            pts[2 * (i0 + k) + 1] = ys[k];
        }
    }
}

/* Coordinates within 1e-9 px of a pixel centre are taken as that centre, so
 * the identity transformation reproduces an image exactly although c/(C-1)
 * times (C-1) need not be c in floating point. */
static double snap(double p) {
    double r = nearbyint(p);
    return fabs(p - r) < 1e-9 ? r : p;
}

float dacc_bilinear_f32(const float *img, int rows, int cols, double px, double py, double *gx,
                        double *gy) {
    int clamp_x = 0, clamp_y = 0;
    if (!(px > 0)) { px = 0; clamp_x = 1; }
    if (px > cols - 1) { px = cols - 1; clamp_x = 1; }
    if (!(py > 0)) { py = 0; clamp_y = 1; }
    if (py > rows - 1) { py = rows - 1; clamp_y = 1; }
    px = snap(px);
    py = snap(py);
    int x0 = (int)px, y0 = (int)py;
    if (x0 > cols - 2) x0 = cols - 2;
    if (y0 > rows - 2) y0 = rows - 2;
    if (x0 < 0) x0 = 0;
    if (y0 < 0) y0 = 0;
    double fx = px - x0, fy = py - y0;
    int x1 = x0 + 1 < cols ? x0 + 1 : x0, y1 = y0 + 1 < rows ? y0 + 1 : y0;
    double v00 = img[(size_t)y0 * cols + x0], v01 = img[(size_t)y0 * cols + x1];
    double v10 = img[(size_t)y1 * cols + x0], v11 = img[(size_t)y1 * cols + x1];
    double top = v00 + fx * (v01 - v00), bot = v10 + fx * (v11 - v10);
    if (gx) *gx = clamp_x ? 0 : (1 - fy) * (v01 - v00) + fy * (v11 - v10);
    if (gy) *gy = clamp_y ? 0 : bot - top;
    return (float)(top + fy * (bot - top));
}

void dacc_cpab_warp_f32(const dacc_cpab_field *f, const float *in, int rows, int cols, float *out) {
    int n = rows * cols;
    for (int i0 = 0; i0 < n; i0 += BATCH) {
        int m = n - i0 < BATCH ? n - i0 : BATCH;
        double xs[BATCH], ys[BATCH];
        transform_pixels(f, rows, cols, i0, m, xs, ys);
        for (int k = 0; k < m; k++)
            out[i0 + k] = dacc_bilinear_f32(in, rows, cols, xs[k] * (cols - 1), ys[k] * (rows - 1), NULL, NULL);
    }
}

void dacc_cpab_warp_u8(const dacc_cpab_field *f, const uint8_t *in, int rows, int cols,
                       uint8_t *out, double *pts) {
    int n = rows * cols;
    for (int i0 = 0; i0 < n; i0 += BATCH) {
        int m = n - i0 < BATCH ? n - i0 : BATCH;
        double xs[BATCH], ys[BATCH];
        transform_pixels(f, rows, cols, i0, m, xs, ys);
        if (pts)
            for (int k = 0; k < m; k++) {
                pts[2 * (i0 + k)] = xs[k];
                pts[2 * (i0 + k) + 1] = ys[k];
            }
        for (int k = 0; k < m; k++) {
            double px = xs[k] * (cols - 1), py = ys[k] * (rows - 1);
            px = px > 0 ? px : 0;
            px = px < cols - 1 ? px : cols - 1;
            py = py > 0 ? py : 0;
            py = py < rows - 1 ? py : rows - 1;
            px = snap(px);
            py = snap(py);
            int x0 = (int)px, y0 = (int)py;
            int x1 = x0 + 1 < cols ? x0 + 1 : x0, y1 = y0 + 1 < rows ? y0 + 1 : y0;
            double fx = px - x0, fy = py - y0;
            double v00 = in[(size_t)y0 * cols + x0], v01 = in[(size_t)y0 * cols + x1];
            double v10 = in[(size_t)y1 * cols + x0], v11 = in[(size_t)y1 * cols + x1];
            double top = v00 + fx * (v01 - v00), bot = v10 + fx * (v11 - v10);
            /* round half up; v >= 0 always, so this is round-to-nearest */
            int q = (int)(top + fy * (bot - top) + 0.5);
            out[i0 + k] = (uint8_t)(q > 255 ? 255 : q);
        }
    }
}
