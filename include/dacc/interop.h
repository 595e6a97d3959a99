/* PyTorch interop: the model's weights and batch-norm buffers as an .npz of
 * arrays named by the state_dict keys of STUDY.md (conv32_1.weight, ...,
 * BN32_1.running_mean, BN32_1.num_batches_tracked, fc.weight), in PyTorch's
 * shapes, so `model.load_state_dict({k: torch.from_numpy(v) ...})` works. */
#ifndef DACC_INTEROP_H
#define DACC_INTEROP_H
#include "dacc/model.h"

int dacc_export_npz(dacc_model *m, const char *path, dacc_err *e);
/* Every tensor of m must be present (float32 or float64) with its PyTorch
 * shape; num_batches_tracked is optional. */
int dacc_import_npz(dacc_model *m, const char *path, dacc_err *e);
/* Layout conversion of one conv weight: [kh][kw][ic][oc] <-> [oc][ic][kh][kw]. */
void dacc_weight_to_torch(const float *src, int oc, int ic, int kh, int kw, float *dst);
void dacc_weight_from_torch(const float *src, int oc, int ic, int kh, int kw, float *dst);

#endif
