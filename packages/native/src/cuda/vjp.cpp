// Vector-Jacobian products on the GPU, as the products they are (the same decomposition as the
// CPU backend's vjp.cpp): linear-map is a transposed GEMV; linear-layer is two GEMMs.
#include "check.h"
#include "context.h"

namespace gpubench::cuda {

void enqueueVjp(const CudaContext& ctx, const WorkloadSpec& w, void* const* inputs, void* const* outputs) {
  const bool f16 = w.dtype == Dtype::F16;
  if (w.kind == Kind::VjpLinearMap) {
    const GemvDesc d{(int)w.m, (int)w.n, inputs[0], inputs[1], outputs[0], true, f16, ctx.gemvWorkspace};
    check(launchGemv(d, ctx.smCount, ctx.stream), "GEMV kernel launch");
    return;
  }
  const int b = (int)w.batch, fin = (int)w.inFeatures, fout = (int)w.outFeatures;
  // dX = dY·Wᵀ: dY is b x fout, W is stored fin x fout (op(B) = Wᵀ).
  GemmDesc dX{b, fin, fout, 1, inputs[2], fout, 1, 0, inputs[1], 1, fout, 0, outputs[0], fin, 0, f16};
  // dW = Xᵀ·dY: X is stored b x fin (op(A) = Xᵀ), dY is b x fout.
  GemmDesc dW{fin, fout, b, 1, inputs[0], 1, fin, 0, inputs[2], fout, 1, 0, outputs[1], fout, 0, f16};
  enqueueGemm(ctx, dX, false, true);
  enqueueGemm(ctx, dW, true, false);
}

}  // namespace gpubench::cuda
