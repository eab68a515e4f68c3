// What a CPU runnable executes with: the kernel variant, the system BLAS if chosen, the pool,
// and its scratch memory.
#pragma once

#include <string>
#include <vector>

#include "../common/spec.h"
#include "kernels.h"
#include "system_blas.h"

namespace gpubench::cpu {

struct CpuOptions {
  /** "auto" (best supported) or "portable". */
  std::string isa = "auto";
  /** "auto" (system BLAS for f32 GEMM where present), "system" (required) or "own". */
  std::string blas = "auto";
  /** Refuse workloads whose buffers exceed this many bytes; 0 means the memory available now. */
  double memoryLimitBytes = 0;
};

struct CpuContext {
  const CpuKernels* kernels;
  /** Null when f32 GEMM runs on the own kernels. */
  const SystemBlas* blas;
  ThreadPool* pool;
  KernelWorkspace ws;
};

/** Resolves options into the BLAS to use (null for own kernels); throws when "system" is asked for and none loads. */
const SystemBlas* chooseBlas(const std::string& blas);

/** Batched C = op(A)·op(B) with f32 going to the system BLAS when chosen. */
void gemmBatch(CpuContext& ctx, const std::vector<GemmProblem>& problems);

/** The problems of a gemm workload over its three buffers. */
std::vector<GemmProblem> gemmProblems(const WorkloadSpec& w, const void* A, const void* B, void* C);

void gemv(CpuContext& ctx, const GemvProblem& problem);

/** vjp linear-map (out = vᵀ·A) or linear-layer (dX = dY·Wᵀ, dW = Xᵀ·dY) over the named buffers. */
void vjp(CpuContext& ctx, const WorkloadSpec& w, const void* const* inputs, void* const* outputs);

/** One "launch": a near-empty task (it stores 1 into flag) handed to a helper thread of the pool and waited for. */
void launch(ThreadPool& pool, float* flag);

}  // namespace gpubench::cpu
