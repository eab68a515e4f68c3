// Vector-Jacobian products on the CPU, as the products they are:
//  linear-map:   out = vᵀ·A          a transposed GEMV over A (m x n);
//  linear-layer: dX = dY·Wᵀ          GEMM batch x inFeatures, depth outFeatures, B transposed;
//                dW = Xᵀ·dY          GEMM inFeatures x outFeatures, depth batch, A transposed.
#include "context.h"

namespace gpubench::cpu {

void vjp(CpuContext& ctx, const WorkloadSpec& w, const void* const* inputs, void* const* outputs) {
  const bool f16 = w.dtype == Dtype::F16;
  if (w.kind == Kind::VjpLinearMap) {
    gemv(ctx, GemvProblem{w.m, w.n, inputs[0], inputs[1], outputs[0], true, f16});
    return;
  }
  const void* X = inputs[0];
  const void* W = inputs[1];
  const void* dY = inputs[2];
  const int64_t b = w.batch, fin = w.inFeatures, fout = w.outFeatures;
  // dX[r][c] = Σ_j dY[r][j] · W[c][j]: op(A) = dY (b x fout), op(B) = Wᵀ with W stored fin x fout.
  GemmProblem dX{b, fin, fout, dY, fout, 1, W, 1, fout, outputs[0], fin, f16, false, true};
  // dW[r][c] = Σ_i X[i][r] · dY[i][c]: op(A) = Xᵀ with X stored b x fin, op(B) = dY (b x fout).
  GemmProblem dW{fin, fout, b, X, 1, fin, dY, fout, 1, outputs[1], fout, f16, true, false};
  gemmBatch(ctx, {dX});
  gemmBatch(ctx, {dW});
}

}  // namespace gpubench::cpu
