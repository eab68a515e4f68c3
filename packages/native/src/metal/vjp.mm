// Vector-Jacobian products on Metal: linear-map is a transposed GEMV; linear-layer two MPS products.
#include <vector>

#include "../common/spec.h"
#include "context.h"

namespace gpubench::metal {

void encodeVjp(id<MTLCommandBuffer> cb, const WorkloadSpec& w, const std::vector<id<MTLBuffer>>& in,
               const std::vector<id<MTLBuffer>>& out, id<MTLBuffer> gemvWorkspace) {
  const bool f16 = w.dtype == Dtype::F16;
  if (w.kind == Kind::VjpLinearMap) {
    encodeGemv(cb, GemvArgs{in[0], in[1], out[0], gemvWorkspace, w.m, w.n, true, f16});
    return;
  }
  // dX = dY·Wᵀ (W stored inFeatures x outFeatures); dW = Xᵀ·dY (X stored batch x inFeatures).
  encodeGemm(cb, GemmArgs{in[2], in[1], out[0], w.batch, w.inFeatures, w.outFeatures, 1, false, true, f16});
  encodeGemm(cb, GemmArgs{in[0], in[2], out[1], w.inFeatures, w.outFeatures, w.batch, 1, true, false, f16});
}

}  // namespace gpubench::metal
