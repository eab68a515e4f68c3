// The CUDA backend's entry points for the N-API layer (host code; see kernels.h for the kernels).
#pragma once

#include <memory>
#include <string>

#include "../common/runnable.h"

namespace gpubench::cuda {

struct CudaOptions {
  /** "auto" (cuBLAS when it loads), "cublas" (required) or "own". */
  std::string gemm = "auto";
};

struct CudaProbe {
  bool available = false;
  /** Why not, in the runtime's words (e.g. "CUDA driver version is insufficient for CUDA runtime version"). */
  std::string reason;
  std::string name;
  std::string computeCapability;
  int smCount = 0;
  double memoryBytes = 0;
  int clockKHz = 0, memoryClockKHz = 0, memoryBusWidthBits = 0;
  int driverVersion = 0, runtimeVersion = 0;
  /** 0 when unknown for this architecture. */
  double peakF32FlopPerSecond = 0, peakF16FlopPerSecond = 0, peakBytesPerSecond = 0;
  std::string cublas, nvml;
};

/** Probes device 0 (or GPUBENCH_CUDA_DEVICE). Never throws for a missing driver or device: that is a reason. */
CudaProbe probe();

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload, const CudaOptions& options);

}  // namespace gpubench::cuda
