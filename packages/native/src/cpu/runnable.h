// The CPU backend's entry points for the N-API layer.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "../common/runnable.h"
#include "context.h"

namespace gpubench::cpu {

struct CpuDescription {
  std::string model;
  int threads;
  std::string isa;
  std::vector<std::string> features;
  /** "openblas" / "blis" / "accelerate" when f32 GEMM runs on the system BLAS under these options, else the own
   * kernel's name. */
  std::string gemm;
  /** The system BLAS found (file), or why none was: reported whatever the options chose. */
  std::string systemBlas;
  bool systemBlasAvailable;
  double memoryBytes;
};

CpuDescription describe(const CpuOptions& options);

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload, const CpuOptions& options);

}  // namespace gpubench::cpu
