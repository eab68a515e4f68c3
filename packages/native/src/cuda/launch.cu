// The near-empty kernel whose launches the launch-latency workload times.
#include "kernels.h"

namespace gpubench::cuda {
namespace {
__global__ void flagKernel(float* flag) {
  if (threadIdx.x == 0 && blockIdx.x == 0) *flag = 1.0f;
}
}  // namespace

cudaError_t launchFlag(float* flag, cudaStream_t stream) {
  flagKernel<<<1, 32, 0, stream>>>(flag);
  return cudaGetLastError();
}

}  // namespace gpubench::cuda
