/* CPA velocity fields and the diffeomorphisms they integrate to (CPAB), on
 * the unit square [0,1]^2 tessellated into nx x ny squares, each cut into 4
 * triangles through its centre. Fields are continuous and affine per
 * triangle. Two spaces:
 * - free boundary (the default; cpabDiffeo's valid_outside=True,
 *   zero_v_across_bdry=[False,False]): the field is also defined outside the
 *   square, each border triangle's affine map extended outwards, and
 *   neighbouring border triangles agree along the outward line through
 *   their shared border vertex, so the extension is continuous too
 *   (d = 2 #vertices - 4 (nx-1) - 4 (ny-1): 58 for [4,4]);
 * - zero boundary: the normal component vanishes on the border, so every
 *   transformation maps the square onto itself (d = 62 for [4,4]).
 * A field is given by theta, its
 * coordinates in an orthonormal basis (Euclidean inner product of the
 * stacked 2x3 matrices A_c) of the d-dimensional space of such fields.
 *
 * Coordinates: a point is (x, y) with x along image columns and y along rows;
 * pixel (r, c) of an R x C image sits at (c/(C-1), r/(R-1)).
 * Triangle t of square (i, j) (i along x, j along y) has index
 * 4*(j*nx + i) + t with t = 0: side y = j (low y), 1: side x = i+1,
 * 2: side y = j+1, 3: side x = i. */
#ifndef DACC_CPAB_H
#define DACC_CPAB_H

#include <stdint.h>

#include "dacc/err.h"

#define DACC_CPAB_MAX_SIDE 16

typedef struct dacc_cpab {
    int nx, ny;    /* squares along x and y */
    int nc;        /* triangles: 4 nx ny */
    int nv;        /* vertices: (nx+1)(ny+1) corners, then nx ny centres */
    int d;         /* dimension of the field space */
    int zero_boundary; /* 1: zero normal velocity on the border; 0: free (valid outside) */
    double *vert;  /* nv x 2 vertex coordinates */
    int *tri;      /* nc x 3 vertex indices of each triangle */
    double *pinv;  /* nc x 9: inverse of [x y 1] rows of the 3 vertices (row-major) */
    double *basis; /* (6 nc) x d, row-major: A_flat = basis * theta */
    double *basis_t; /* d x (6 nc): the transpose, for theta = basis^T A */
} dacc_cpab;

/* Builds the tessellation and its orthonormal basis (1 <= nx, ny <= 16). */
int dacc_cpab_init(dacc_cpab *t, int nx, int ny, int zero_boundary, dacc_err *e);
/* The counting formula for the dimension (docs/ALIGNMNIST.md): exact for the
 * zero boundary; for the free boundary it assumes independent constraints,
 * true for every size tested except [2,2] (d = 20, not 18). */
int dacc_cpab_dim(int nx, int ny, int zero_boundary);
void dacc_cpab_free(dacc_cpab *t);

/* Triangle containing (x, y). A point outside the square belongs to the
 * square its clamped position is in and, within it, to the triangle on its
 * side of the square's diagonals (extended outwards): the border triangle
 * whose affine map the free-boundary space extends there.
 * Inline: the integrators call it at every step. */
static inline int dacc_cpab_cell(const dacc_cpab *t, double x, double y) {
    /* Branch-free: the triangle depends on the position in ways a branch
     * predictor cannot guess. Clamping also maps NaN to square 0, and NaN
     * offsets compare false (triangle 0). */
    double cx = x > 0 ? x : 0, cy = y > 0 ? y : 0;
    cx = cx < 1 ? cx : 1;
    cy = cy < 1 ? cy : 1;
    int i = (int)(cx * t->nx), j = (int)(cy * t->ny);
    i -= i >= t->nx;
    j -= j >= t->ny;
    double fx = x * t->nx - i - 0.5, fy = y * t->ny - j - 0.5;
    /* Which side of the two diagonals: p = above y = x, q = above y = -x
     * (local coordinates). (p,q) = (0,0) low y -> 0, (0,1) high x -> 1,
     * (1,1) high y -> 2, (1,0) low x -> 3. Bit arithmetic, no branch. */
    int p = fy - fx > 0, q = fy + fx > 0;
    int k = (p << 1) | (p ^ q);
    return 4 * (j * t->nx + i) + k;
}

/* A (6 nc doubles, 2x3 per triangle, row-major) = basis * theta. */
void dacc_cpab_theta_to_A(const dacc_cpab *t, const double *theta, double *A);
/* theta = basis^T A: the orthogonal projection of a field onto the space. */
void dacc_cpab_A_to_theta(const dacc_cpab *t, const double *A, double *theta);
/* Velocity of the field A at (x, y), evaluated with the triangle c (or the
 * triangle containing the point when c < 0). */
void dacc_cpab_velocity(const dacc_cpab *t, const double *A, int c, double x, double y,
                        double v[2]);
/* Re-expresses a field of tessellation `from` in tessellation `to` (vertex
 * velocities of `to` sampled from the `from` field). Exact when `to` refines
 * `from` (e.g. [1,1] -> [2,2] -> [4,4]). */
void dacc_cpab_project(const dacc_cpab *from, const double *theta_from, const dacc_cpab *to,
                       double *theta_to);

/* 3x3 matrix exponential (scaling and squaring + Taylor), row-major. */
void dacc_expm3(const double *M, double *out);

/* A field ready for integration: A and, per triangle, the top two rows of
 * expm(h [A_c; 0 0 0]) for the step h = 1/nsteps (E) and for the substep
 * h/nsub (Es; E = Es^nsub). Allocated once, refilled with
 * dacc_cpab_field_set for each theta. */
typedef struct dacc_cpab_field {
    const dacc_cpab *t;
    int nsteps, nsub;
    double *A; /* 6 nc */
    double *E;  /* 6 nc */
    double *Es; /* 6 nc */
} dacc_cpab_field;

/* nsteps = nsub = 10 are the defaults (DACC_CPAB_STEPS). */
#define DACC_CPAB_STEPS 10
int dacc_cpab_field_init(dacc_cpab_field *f, const dacc_cpab *t, int nsteps, int nsub, dacc_err *e);
void dacc_cpab_field_free(dacc_cpab_field *f);
/* theta scaled by `sign_scale` (pass -1 for the inverse transformation). */
void dacc_cpab_field_set(dacc_cpab_field *f, const double *theta, double sign_scale);
void dacc_cpab_field_set_A(dacc_cpab_field *f, const double *A);

/* T(p) = phi(p, 1): nsteps closed-form steps expm(h A~_c); a step that would
 * leave its triangle is redone as nsub substeps, each in closed form
 * (expm(h/nsub A~_c)) unless it too would leave its triangle, in which case
 * it is a midpoint step. In place. */
void dacc_cpab_transform(const dacc_cpab_field *f, double p[2]);

/* Pull-back warp: out(u) = in(T(u)) with bilinear interpolation, clamped at
 * the edges. in and out are rows x cols floats (distinct buffers). */
void dacc_cpab_warp_f32(const dacc_cpab_field *f, const float *in, int rows, int cols, float *out);
/* The same on uint8 images: the result is rounded to nearest and clipped.
 * pts (optional, 2 rows cols doubles): T of every pixel centre, as
 * dacc_cpab_transform_grid. */
void dacc_cpab_warp_u8(const dacc_cpab_field *f, const uint8_t *in, int rows, int cols,
                       uint8_t *out, double *pts);
/* The grid form of the same: T of every pixel centre, 2 doubles per pixel
 * (x, y) in [0,1] coordinates. */
void dacc_cpab_transform_grid(const dacc_cpab_field *f, int rows, int cols, double *pts);

/* Bilinear sample of a rows x cols float image at pixel coordinates
 * (px along columns, py along rows), clamped at the edges; optional gradient
 * (d/dpx, d/dpy) of the interpolant. */
float dacc_bilinear_f32(const float *img, int rows, int cols, double px, double py, double *gx,
                        double *gy);

#endif
