// Batched GEMM on the CPU: the system BLAS for f32 when chosen, the own blocked kernels otherwise
// (always for f16: CBLAS has no half-precision product).
#include "../common/spec.h"
#include "context.h"

namespace gpubench::cpu {

const SystemBlas* chooseBlas(const std::string& blas) {
  if (blas == "own") return nullptr;
  const SystemBlas& sys = systemBlas();
  if (blas == "system") {
    if (!sys.available()) throw NativeError("cpu option blas='system' but " + sys.detail);
    return &sys;
  }
  if (blas == "auto") return sys.available() ? &sys : nullptr;
  throw NativeError("cpu option 'blas' must be 'auto', 'system' or 'own', got '" + blas + "'");
}

std::vector<GemmProblem> gemmProblems(const WorkloadSpec& w, const void* A, const void* B, void* C) {
  const int64_t e = w.elementBytes();
  std::vector<GemmProblem> out;
  out.reserve((size_t)w.batch);
  for (int64_t b = 0; b < w.batch; b++) {
    GemmProblem p{};
    p.m = w.m;
    p.n = w.n;
    p.k = w.k;
    p.A = static_cast<const char*>(A) + b * w.m * w.k * e;
    p.B = static_cast<const char*>(B) + b * w.k * w.n * e;
    p.C = static_cast<char*>(C) + b * w.m * w.n * e;
    // A is m x k (k x m when transposed), B is k x n (n x k when transposed), row-major.
    p.rsA = w.transA ? 1 : w.k;
    p.csA = w.transA ? w.m : 1;
    p.rsB = w.transB ? 1 : w.n;
    p.csB = w.transB ? w.k : 1;
    p.ldc = w.n;
    p.f16 = w.dtype == Dtype::F16;
    p.transA = w.transA;
    p.transB = w.transB;
    out.push_back(p);
  }
  return out;
}

namespace {
/** CBLAS arguments for a problem built by gemmProblems() or vjp() (row-major, unit stride on one side). */
void systemSgemm(const SystemBlas& blas, const GemmProblem& p) {
  const bool transA = p.transA;
  const bool transB = p.transB;
  const int64_t lda = transA ? p.csA : p.rsA;
  const int64_t ldb = transB ? p.csB : p.rsB;
  blas.sgemm(kCblasRowMajor, transA ? kCblasTrans : kCblasNoTrans, transB ? kCblasTrans : kCblasNoTrans, (int)p.m,
             (int)p.n, (int)p.k, 1.0f, static_cast<const float*>(p.A), (int)lda, static_cast<const float*>(p.B),
             (int)ldb, 0.0f, static_cast<float*>(p.C), (int)p.ldc);
}
}  // namespace

void gemmBatch(CpuContext& ctx, const std::vector<GemmProblem>& problems) {
  if (problems.empty()) return;
  if (ctx.blas && !problems[0].f16) {
    for (const auto& p : problems) systemSgemm(*ctx.blas, p);
    return;
  }
  ctx.kernels->gemm(problems.data(), (int)problems.size(), *ctx.pool, ctx.ws);
}

}  // namespace gpubench::cpu
