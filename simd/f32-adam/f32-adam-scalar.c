/* Reference Adam step, in PyTorch's order of operations (torch.optim.Adam,
 * single-tensor path) so that long runs track the reference closely. */
#include "dacc/kernels.h"
#include <math.h>

void dacc_f32_adam__scalar(size_t n, float *p, const float *g, float *m, float *v,
                           const dacc_adam_args *a) {
    const float step = a->lr / a->bc1;
    const float bc2_sqrt = sqrtf(a->bc2);
    for (size_t i = 0; i < n; i++) {
        m[i] = m[i] * a->beta1 + g[i] * (1.0f - a->beta1);
        v[i] = v[i] * a->beta2 + g[i] * g[i] * (1.0f - a->beta2);
        float denom = sqrtf(v[i]) / bc2_sqrt + a->eps;
        p[i] -= step * (m[i] / denom);
    }
}
