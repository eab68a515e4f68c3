// Probing the CUDA device: availability in the runtime's words (plus the driver the static runtime
// needs, when that is why), and the facts peak rates are computed from (in cuda-peaks.ts, by
// product): SM count, clocks, bus width, L2 size, driver release.
#include <cstdlib>

#include "backend.h"
#include "check.h"
#include "cublas.h"
#include "driver.h"
#include "nvml.h"

namespace gpubench::cuda {

int selectedDevice() {
  const char* env = std::getenv("GPUBENCH_CUDA_DEVICE");
  return env ? std::atoi(env) : 0;
}

std::string pciBusIdOf(int device) {
  char bus[32] = {0};
  if (cudaDeviceGetPCIBusId(bus, sizeof bus, device) != cudaSuccess) return "";
  return bus;
}

CudaProbe probe() {
  CudaProbe p;
  cudaRuntimeGetVersion(&p.runtimeVersion);
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    p.reason = std::string(cudaGetErrorString(status)) + " (cudaGetDeviceCount: " + cudaGetErrorName(status) + ")";
    if (status == cudaErrorInsufficientDriver)
      p.reason = insufficientDriverReason(p.reason, p.runtimeVersion, installedDriverRelease());
    cudaGetLastError();  // clear the error so later calls do not report it again
    return p;
  }
  const int device = selectedDevice();
  if (count == 0) {
    p.reason = "no CUDA device found";
    return p;
  }
  if (device < 0 || device >= count) {
    p.reason =
        "GPUBENCH_CUDA_DEVICE=" + std::to_string(device) + " but there are " + std::to_string(count) + " devices";
    return p;
  }
  cudaDeviceProp prop{};
  status = cudaGetDeviceProperties(&prop, device);
  if (status != cudaSuccess) {
    p.reason = std::string("cudaGetDeviceProperties: ") + cudaGetErrorString(status);
    return p;
  }
  p.available = true;
  p.name = prop.name;
  p.computeCapability = std::to_string(prop.major) + "." + std::to_string(prop.minor);
  p.smCount = prop.multiProcessorCount;
  p.memoryBytes = (double)prop.totalGlobalMem;
  p.l2CacheBytes = (double)prop.l2CacheSize;
  cudaDeviceGetAttribute(&p.clockKHz, cudaDevAttrClockRate, device);
  cudaDeviceGetAttribute(&p.memoryClockKHz, cudaDevAttrMemoryClockRate, device);
  cudaDeviceGetAttribute(&p.memoryBusWidthBits, cudaDevAttrGlobalMemoryBusWidth, device);
  cudaDriverGetVersion(&p.driverApiVersion);
  p.driverRelease = installedDriverRelease();
  p.cublas = cublasDetail();
  p.nvml = nvmlDetail(pciBusIdOf(device));
  return p;
}

}  // namespace gpubench::cuda
