// CUDA runtime errors as NativeErrors naming the call: "cudaMalloc (buffer 'A', 8.0 GB): out of memory".
#pragma once

#include <cuda_runtime_api.h>

#include <string>

#include "../common/spec.h"

namespace gpubench::cuda {

inline void check(cudaError_t status, const std::string& what) {
  if (status != cudaSuccess)
    throw NativeError(what + ": " + cudaGetErrorString(status) + " (" + cudaGetErrorName(status) + ")");
}

}  // namespace gpubench::cuda
