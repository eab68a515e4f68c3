// The system BLAS, loaded at run time with dlopen so the build never needs it: Accelerate on
// macOS, OpenBLAS or BLIS on Linux. Only cblas_sgemm is used (f32 GEMM); everything else runs on
// this package's own kernels.
#pragma once

#include <string>

namespace gpubench::cpu {

// CBLAS's row-major / transpose constants (fixed by the CBLAS standard).
constexpr int kCblasRowMajor = 101, kCblasNoTrans = 111, kCblasTrans = 112;

using SgemmFn = void (*)(int order, int transA, int transB, int m, int n, int k, float alpha, const float* A, int lda,
                         const float* B, int ldb, float beta, float* C, int ldc);

struct SystemBlas {
  /** "openblas", "blis", "accelerate"; empty when none loaded. */
  std::string name;
  /** The library file loaded, or why none was. */
  std::string detail;
  SgemmFn sgemm = nullptr;
  bool available() const { return sgemm != nullptr; }
};

/** Loads once per process and caches the outcome. */
const SystemBlas& systemBlas();

}  // namespace gpubench::cpu
