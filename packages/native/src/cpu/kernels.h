// The CPU kernels' dispatch table. Each instruction-set variant (AVX2/FMA/F16C on x86-64, NEON on
// Arm, a portable fallback) is compiled in its own translation unit with its own compiler flags and
// fills one table; cpu_features.cpp picks the best one the running CPU supports. Nothing outside
// these files executes an instruction the CPU may lack.
#pragma once

#include <cstdint>
#include <vector>

#include "thread_pool.h"

namespace gpubench::cpu {

/**
 * One matrix product C = op(A) · op(B), C m x n with row stride ldc. Element (i, p) of op(A) is
 * A[i * rsA + p * csA]; element (p, j) of op(B) is B[p * rsB + j * csB]: transposes are strides.
 * With f16, A, B and C hold binary16 bits and products accumulate in f32.
 */
struct GemmProblem {
  int64_t m, n, k;
  const void* A;
  int64_t rsA, csA;
  const void* B;
  int64_t rsB, csB;
  void* C;
  int64_t ldc;
  bool f16;
  /** The transposes the strides encode, spelled out for the system BLAS (strides alone are ambiguous at size 1). */
  bool transA = false, transB = false;
};

/** y = A · x (A m x n row-major, y has m) when !trans; y = Aᵀ · x (y has n) when trans. */
struct GemvProblem {
  int64_t m, n;
  const void* A;
  const void* x;
  void* y;
  bool trans;
  bool f16;
};

/** Scratch memory reused across runs so a timed run never allocates. Owned by a runnable. */
struct KernelWorkspace {
  struct PerWorker {
    std::vector<float> aPack, bPack, c32, acc;
  };
  std::vector<PerWorker> workers;
  std::vector<float> bPack;  // shared B panel when one product is split across workers
  std::vector<float> c32;    // shared f32 accumulator for an f16 product split across workers
};

struct CpuKernels {
  /** "avx2-fma-f16c", "neon" or "portable". */
  const char* isa;
  /** Runs `count` independent products (a batch) on the pool. */
  void (*gemm)(const GemmProblem* problems, int count, ThreadPool& pool, KernelWorkspace& ws);
  void (*gemv)(const GemvProblem& problem, ThreadPool& pool, KernelWorkspace& ws);
};

/** nullptr where the variant is not compiled for this architecture. */
const CpuKernels* avx2Kernels();
const CpuKernels* neonKernels();
const CpuKernels* portableKernels();

}  // namespace gpubench::cpu
