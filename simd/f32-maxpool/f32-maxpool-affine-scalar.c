/* Reference eval-mode max pooling of an affine map (kernels.h): the max of
 * the window for channels with a >= 0, the min for a < 0, then one affine
 * and the optional ReLU per output. Padding never takes part. */
#include "dacc/kernels.h"
#include "f32-maxpool/pool-window.h"
#include <math.h>

void dacc_f32_maxpool_affine__scalar(const dacc_pool_shape *s, const float *x, const float *a,
                                     const float *b, int relu, float *y) {
    const int C = s->c;
    const size_t in_plane = (size_t)s->ih * s->iw * C;
    for (int n = 0; n < s->n; n++) {
        const float *xi = x + n * in_plane;
        for (int oh = 0; oh < s->oh; oh++)
            for (int ow = 0; ow < s->ow; ow++) {
                float *yo = y + (((size_t)n * s->oh + oh) * s->ow + ow) * C;
                const pool_window pw = pool_window_at(s, oh, ow);
                for (int c = 0; c < C; c++) {
                    float mx = -INFINITY, mn = INFINITY;
                    for (int kh = pw.kh0; kh < pw.kh1; kh++)
                        for (int kw = pw.kw0; kw < pw.kw1; kw++) {
                            float v = xi[((size_t)(pw.h0 + kh) * s->iw + (pw.w0 + kw)) * C + c];
                            mx = v > mx ? v : mx;
                            mn = v < mn ? v : mn;
                        }
                    float v = -INFINITY;
                    if (!pool_window_empty(&pw)) v = a ? (a[c] >= 0 ? mx : mn) * a[c] + b[c] : mx;
                    yo[c] = relu && !(v > 0) ? 0.0f : v;
                }
            }
    }
}
