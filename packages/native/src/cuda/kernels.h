// Launch wrappers of the CUDA kernels (defined in the .cu files, called from host .cpp files).
// Each enqueues on `stream` and returns cudaGetLastError(); none synchronises.
#pragma once

#include <cuda_runtime_api.h>

#include <cstdint>

namespace gpubench::cuda {

/**
 * A batch of products C = op(A) · op(B), row-major, C m x n with row stride ldc. Element (i, p) of
 * op(A) is A[i * rsA + p * csA], element (p, j) of op(B) is B[p * rsB + j * csB]; consecutive
 * batch entries are strideA / strideB / strideC elements apart. f16: binary16 storage, f32 accumulation.
 */
struct GemmDesc {
  int m, n, k, batch;
  const void* A;
  int64_t rsA, csA, strideA;
  const void* B;
  int64_t rsB, csB, strideB;
  void* C;
  int64_t ldc, strideC;
  bool f16;
};

/**
 * f32: 64x64 tiles, 4x4 outputs per thread. f16: WMMA tensor-core tiles (16x16x16), f32
 * accumulators. Grid from gemmGrid (common/geometry.h): the kernels loop over the row tiles and
 * batch entries beyond 65535.
 */
cudaError_t launchGemm(const GemmDesc& d, cudaStream_t stream);

/** y = A·x (trans false; A m x n row-major) or y = Aᵀ·x (trans true). */
struct GemvDesc {
  int m, n;
  const void* A;
  const void* x;
  void* y;
  bool trans, f16;
  /** Aᵀ·x only: gemvColsGeometry(m, n, smCount).workspaceFloats floats (may be null when that is 0). */
  float* workspace;
};

/**
 * Geometry from common/geometry.h for `smCount` SMs. A·x: a warp per row, 16-byte loads of A
 * (x too when aligned) with scalar head and tail. Aᵀ·x: rows split across blocks, a second pass
 * adding the splits' partial sums when there is more than one.
 */
cudaError_t launchGemv(const GemvDesc& d, int smCount, cudaStream_t stream);

/** One thread stores 1.0f into flag: the near-empty kernel of the launch-latency workload. */
cudaError_t launchFlag(float* flag, cudaStream_t stream);

}  // namespace gpubench::cuda
