/* The smoothness prior over CPA fields of Freifeld et al. (cpabDiffeo,
 * cpab/distributions/create_joint_algebra_cov.py and CpaCovs.py): a Gaussian
 * over every triangle's six affine entries in which the same entry of two
 * triangles is correlated by exp(-dist/l)^2, dist the distance between the
 * triangles' centroids and l = length x (distance between the centroids of
 * triangles 0 and 1); different entries are independent; translation
 * entries have variance 1, linear entries lin_ratio^2. Projected onto the
 * CPA space: Sigma_theta = B^T Sigma_A B. */
#ifndef DACC_ALIGN_PRIOR_H
#define DACC_ALIGN_PRIOR_H

#include "align/cpab.h"

/* Sigma_A entry for (triangle c, entry q) and (triangle c2, entry q2);
 * q indexes the row-major 2x3 A_c, q = 2 and 5 are translations. */
double dacc_prior_cov_A(const dacc_cpab *t, double length, double lin_ratio, int c, int q, int c2,
                        int q2);
/* Sigma_theta (d x d, row-major). Returns -1 when out of memory. */
int dacc_prior_cov_theta(const dacc_cpab *t, double length, double lin_ratio, double *sigma);
/* The precision the fit uses: (Sigma_theta / (trace Sigma_theta / d))^-1,
 * so that one weight lambda means (on average over directions) what it means
 * for the isotropic prior (lambda/2)|theta|^2. Returns -1 when out of memory
 * or not positive definite. */
int dacc_prior_precision(const dacc_cpab *t, double length, double lin_ratio, double *prec);

#endif
