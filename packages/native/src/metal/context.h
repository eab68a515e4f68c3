// Shared state of the Metal backend (Objective-C++ only): the device, a queue, the MSL library
// compiled from shaders.h on first use, and encoders for each workload.
#pragma once

#import <Metal/Metal.h>

#include <cstdint>
#include <string>

namespace gpubench::metal {

struct MetalContext {
  id<MTLDevice> device = nil;
  id<MTLCommandQueue> queue = nil;
};

/** The process's device and queue (nil device when there is none). */
MetalContext& context();

/** A compute pipeline of the MSL library by function name; the library compiles on the first call. */
id<MTLComputePipelineState> pipeline(const std::string& name);

struct GemmArgs {
  id<MTLBuffer> A, B, C;
  int64_t m, n, k, batch;
  bool transA, transB, f16;
};

/** C = op(A)·op(B) through MPSMatrixMultiplication. */
void encodeGemm(id<MTLCommandBuffer> cb, const GemmArgs& g);

/** y = A·x (or Aᵀ·x) through the MSL GEMV kernels. */
void encodeGemv(id<MTLCommandBuffer> cb, id<MTLBuffer> A, id<MTLBuffer> x, id<MTLBuffer> y, int64_t m, int64_t n,
                bool trans, bool f16);

/** The near-empty kernel storing 1 into flag. */
void encodeFlag(id<MTLCommandBuffer> cb, id<MTLBuffer> flag);

/** GPU time of a completed command buffer in ns (GPUEndTime - GPUStartTime). */
double gpuDurationNs(id<MTLCommandBuffer> cb);

}  // namespace gpubench::metal
