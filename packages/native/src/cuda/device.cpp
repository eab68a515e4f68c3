// Probing the CUDA device: availability in the runtime's words, and what is known of the device
// for roofline fractions (peak FLOP/s from SM count x clock x per-SM rate of the architecture,
// peak bandwidth from memory clock x bus width x 2 for double data rate).
#include <cstdlib>

#include "backend.h"
#include "check.h"
#include "cublas.h"
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

namespace {
/** FP32 lanes per SM by compute capability (0 when unknown). */
int f32LanesPerSm(int major, int minor) {
  if (major == 7 || (major == 8 && minor == 0)) return 64;
  if (major >= 8) return 128;
  return 0;
}

/** Dense f16 tensor-core FLOP per cycle per SM with f32 accumulation, where one figure holds for every part (0 otherwise). */
int f16TensorFlopPerCycle(int major, int minor) {
  if (major == 7 && minor == 0) return 1024;  // V100
  if (major == 8 && minor == 0) return 2048;  // A100
  if (major == 9 && minor == 0) return 4096;  // H100, H200
  return 0;  // consumer parts halve f32-accumulate rates; no single figure
}
}  // namespace

CudaProbe probe() {
  CudaProbe p;
  int count = 0;
  cudaError_t status = cudaGetDeviceCount(&count);
  if (status != cudaSuccess) {
    p.reason = std::string(cudaGetErrorString(status)) + " (cudaGetDeviceCount: " + cudaGetErrorName(status) + ")";
    cudaGetLastError();  // clear the error so later calls do not report it again
    return p;
  }
  const int device = selectedDevice();
  if (count == 0) {
    p.reason = "no CUDA device found";
    return p;
  }
  if (device < 0 || device >= count) {
    p.reason = "GPUBENCH_CUDA_DEVICE=" + std::to_string(device) + " but there are " + std::to_string(count) + " devices";
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
  cudaDeviceGetAttribute(&p.clockKHz, cudaDevAttrClockRate, device);
  cudaDeviceGetAttribute(&p.memoryClockKHz, cudaDevAttrMemoryClockRate, device);
  cudaDeviceGetAttribute(&p.memoryBusWidthBits, cudaDevAttrGlobalMemoryBusWidth, device);
  cudaDriverGetVersion(&p.driverVersion);
  cudaRuntimeGetVersion(&p.runtimeVersion);
  const double hz = (double)p.clockKHz * 1e3;
  p.peakF32FlopPerSecond = (double)p.smCount * f32LanesPerSm(prop.major, prop.minor) * 2.0 * hz;
  p.peakF16FlopPerSecond = (double)p.smCount * f16TensorFlopPerCycle(prop.major, prop.minor) * hz;
  p.peakBytesPerSecond = 2.0 * (double)p.memoryClockKHz * 1e3 * (double)p.memoryBusWidthBits / 8.0;
  p.cublas = cublas().detail;
  p.nvml = nvmlDetail(pciBusIdOf(device));
  return p;
}

}  // namespace gpubench::cuda
