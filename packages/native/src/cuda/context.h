// What a CUDA runnable enqueues with: its stream, the cuBLAS handle when GEMM runs on cuBLAS, and
// what the GEMV launches need (SM count, workspace).
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "../common/spec.h"
#include "kernels.h"

namespace gpubench::cuda {

struct Cublas;

struct CudaContext {
  cudaStream_t stream = nullptr;
  /** cuBLAS handle bound to `stream`, and its library; null when GEMM runs on the own kernels. */
  void* cublasHandle = nullptr;
  const Cublas* cublas = nullptr;
  /** The device's SM count, for the GEMV launch geometry. */
  int smCount = 1;
  /** Partial sums of Aᵀ·x (gemvColsGeometry(...).workspaceFloats floats); null when the workload has none. */
  float* gemvWorkspace = nullptr;
};

/** Refuses a `gemm` option other than "auto", "cublas" or "own", naming it. */
void checkGemmOption(const std::string& gemm);

/**
 * Binds a cuBLAS handle to ctx.stream unless `gemm` is "own" (ctx.cublasHandle stays null: the own
 * kernels run); "cublas" throws when no cuBLAS works. Returns the note saying which GEMM runs, a
 * fallback from cuBLAS called out with every library passed over. `ownKernel` names the own
 * kernel for that note. The caller destroys the handle (ctx.cublas->destroy).
 */
std::string setUpGemmOn(CudaContext& ctx, const std::string& gemm, const std::string& ownKernel);

/** C = op(A)·op(B) for a batch (see GemmDesc); transA/transB spell out what the strides encode, for cuBLAS. */
void enqueueGemm(const CudaContext& ctx, const GemmDesc& d, bool transA, bool transB);

/** vjp linear-map (out = vᵀ·A) or linear-layer (dX = dY·Wᵀ, dW = Xᵀ·dY) over device buffers. */
void enqueueVjp(const CudaContext& ctx, const WorkloadSpec& w, void* const* inputs, void* const* outputs);

}  // namespace gpubench::cuda
