// The CUDA backend's entry points for the N-API layer (host code; see kernels.h for the kernels).
#pragma once

#include <memory>
#include <string>

#include "../common/runnable.h"
#include "../common/train.h"

namespace gpubench::cuda {

struct CudaOptions {
  /** "auto" (cuBLAS when it loads), "cublas" (required) or "own". */
  std::string gemm = "auto";
  /** Runs per timed sample: 0 plans it from the warm-up (common/timing_plan.h); 1..1000 fixes it, to compare timings.
   */
  int runsPerSample = 0;
};

struct CudaProbe {
  bool available = false;
  /** Why not, in the runtime's words (e.g. "CUDA driver version is insufficient for CUDA runtime version"), plus the
   * driver it needs. */
  std::string reason;
  std::string name;
  std::string computeCapability;
  int smCount = 0;
  double memoryBytes = 0, l2CacheBytes = 0;
  /** Clocks as the runtime reports them (clockKHz: the maximum SM clock). */
  int clockKHz = 0, memoryClockKHz = 0, memoryBusWidthBits = 0;
  /** cudaDriverGetVersion (the CUDA API the driver supports, 13000) and cudaRuntimeGetVersion. */
  int driverApiVersion = 0, runtimeVersion = 0;
  /** The driver's release ("580.65.06"), "" when neither NVML nor /proc says. */
  std::string driverRelease;
  /** The cuBLAS library that loads, or "not loaded: <why>" (cublasCreate is tried at prepare). */
  std::string cublas, nvml;
};

/** Probes device 0 (or GPUBENCH_CUDA_DEVICE). Never throws for a missing driver or device: that is a reason. */
CudaProbe probe();

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload, const CudaOptions& options);

/**
 * The training step on device 0 (or GPUBENCH_CUDA_DEVICE), cuda/train.cu: products on cuBLAS when
 * it loads (options.gemm as for workloads), else the own GEMM kernels; CUDA events per phase.
 */
std::unique_ptr<TrainSession> prepareTraining(const TrainConfig& config, const CudaOptions& options);

}  // namespace gpubench::cuda
