// cuBLAS, loaded at run time with dlopen (libcublas.so.13 / .12, or the copy a PyTorch wheel puts
// under site-packages/nvidia/cublas/lib), so the addon builds and runs without it. Declares the
// few entry points used, with cuBLAS's documented C signatures and constants.
#pragma once

#include <cuda_runtime_api.h>

#include <string>

namespace gpubench::cuda {

struct Cublas {
  using Handle = void*;
  using CreateFn = int (*)(Handle*);
  using DestroyFn = int (*)(Handle);
  using SetStreamFn = int (*)(Handle, cudaStream_t);
  using SgemmStridedBatchedFn = int (*)(Handle, int transa, int transb, int m, int n, int k, const float* alpha,
                                        const float* A, int lda, long long strideA, const float* B, int ldb,
                                        long long strideB, const float* beta, float* C, int ldc, long long strideC,
                                        int batchCount);
  using GemmStridedBatchedExFn = int (*)(Handle, int transa, int transb, int m, int n, int k, const void* alpha,
                                         const void* A, int Atype, int lda, long long strideA, const void* B,
                                         int Btype, int ldb, long long strideB, const void* beta, void* C, int Ctype,
                                         int ldc, long long strideC, int batchCount, int computeType, int algo);

  static constexpr int OP_N = 0, OP_T = 1;
  static constexpr int R_16F = 2, R_32F = 0;      // cudaDataType
  static constexpr int COMPUTE_32F = 68;          // cublasComputeType_t
  static constexpr int GEMM_DEFAULT = -1;         // cublasGemmAlgo_t

  /** The file loaded, or "not loaded: <why>". */
  std::string detail;
  CreateFn create = nullptr;
  DestroyFn destroy = nullptr;
  SetStreamFn setStream = nullptr;
  SgemmStridedBatchedFn sgemmStridedBatched = nullptr;
  GemmStridedBatchedExFn gemmStridedBatchedEx = nullptr;
  bool available() const { return create && destroy && setStream && sgemmStridedBatched && gemmStridedBatchedEx; }
};

/** Loads once per process. */
const Cublas& cublas();

}  // namespace gpubench::cuda
