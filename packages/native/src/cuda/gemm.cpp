// GEMM dispatch (host): cuBLAS when the runnable holds a handle, the own kernels otherwise.
// cuBLAS is column-major: a row-major C = op(A)·op(B) is the column-major Cᵀ = op(B)ᵀ·op(A)ᵀ, so
// the operands are passed swapped, each with the transpose flag it has in row-major terms.
#include "check.h"
#include "context.h"
#include "cublas.h"

namespace gpubench::cuda {

void checkGemmOption(const std::string& gemm) {
  if (gemm != "auto" && gemm != "cublas" && gemm != "own")
    throw NativeError("cuda option 'gemm' must be 'auto', 'cublas' or 'own', got '" + gemm + "'");
}

std::string setUpGemmOn(CudaContext& ctx, const std::string& gemm, const std::string& ownKernel) {
  checkGemmOption(gemm);
  const std::string own = "own kernel (" + ownKernel + ")";
  if (gemm == "own") return "gemm: " + own + ", as asked (gemm: 'own')";
  CublasHandle h = createCublasHandle();
  // Failures other than "no such file" are libraries that exist but were passed over: say which.
  std::string passedOver;
  for (const auto& f : h.failures)
    if (f.find("No such file") == std::string::npos && passedOver.size() < 800)
      passedOver += (passedOver.empty() ? "" : "; ") + f;
  if (!h.handle) {
    const std::string why = passedOver.empty() ? "no libcublas found (set GPUBENCH_CUBLAS or CUDA_HOME)" : passedOver;
    if (gemm == "cublas") throw NativeError("gemm: 'cublas' asked for, but no cuBLAS works: " + why);
    return "gemm: FALLBACK to the " + own + ", not cuBLAS (" + why +
           "); expect it to be several times slower, and a baseline recorded now measures this kernel";
  }
  ctx.cublasHandle = h.handle;
  ctx.cublas = h.library;
  if (int s = h.library->setStream(h.handle, ctx.stream); s != 0)
    throw NativeError("cublasSetStream failed with status " + std::to_string(s));
  return "gemm: cublas (" + h.library->file + ")" + (passedOver.empty() ? "" : "; passed over: " + passedOver);
}

void enqueueGemm(const CudaContext& ctx, const GemmDesc& d, bool transA, bool transB) {
  if (!ctx.cublasHandle) {
    check(launchGemm(d, ctx.stream), "GEMM kernel launch");
    return;
  }
  const Cublas& c = *ctx.cublas;
  const int lda = (int)(transA ? d.csA : d.rsA);
  const int ldb = (int)(transB ? d.csB : d.rsB);
  const int opA = transA ? Cublas::OP_T : Cublas::OP_N;
  const int opB = transB ? Cublas::OP_T : Cublas::OP_N;
  const float alpha = 1.0f, beta = 0.0f;
  int status;
  if (d.f16) {
    status = c.gemmStridedBatchedEx(ctx.cublasHandle, opB, opA, d.n, d.m, d.k, &alpha, d.B, Cublas::R_16F, ldb,
                                    d.strideB, d.A, Cublas::R_16F, lda, d.strideA, &beta, d.C, Cublas::R_16F,
                                    (int)d.ldc, d.strideC, d.batch, Cublas::COMPUTE_32F, Cublas::GEMM_DEFAULT);
  } else {
    status = c.sgemmStridedBatched(ctx.cublasHandle, opB, opA, d.n, d.m, d.k, &alpha, static_cast<const float*>(d.B),
                                   ldb, d.strideB, static_cast<const float*>(d.A), lda, d.strideA, &beta,
                                   static_cast<float*>(d.C), (int)d.ldc, d.strideC, d.batch);
  }
  if (status != 0)
    throw NativeError(std::string(d.f16 ? "cublasGemmStridedBatchedEx" : "cublasSgemmStridedBatched") +
                      " failed with status " + std::to_string(status));
}

}  // namespace gpubench::cuda
