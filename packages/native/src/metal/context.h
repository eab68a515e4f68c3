// Shared state of the Metal backend (Objective-C++ only): the device, a queue, the MSL library
// compiled from shaders.h on first use, and encoders for each workload.
#pragma once

#import <Metal/Metal.h>

#include <cstdint>
#include <string>

#include "../common/spec.h"

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

/**
 * The note on how MPS accumulates f16 products (Apple does not document it), from a check run once
 * per process: a k = 4096 product of values in [0, 1) against a double reference. An error above
 * one f16 rounding means (at least partly) f16 accumulation.
 */
std::string mpsF16AccumulationNote();

struct GemvArgs {
  id<MTLBuffer> A, x, y;
  /** Aᵀ·x only: gemvWorkspaceFloats(m, n, true) floats (nil when that is 0). */
  id<MTLBuffer> workspace;
  int64_t m, n;
  bool trans, f16;
};

/** Floats of workspace a GEMV of this shape needs (the partial sums of Aᵀ·x's row splits). */
int64_t gemvWorkspaceFloats(int64_t m, int64_t n, bool trans);

/** y = A·x (or Aᵀ·x) through the MSL GEMV kernels. */
void encodeGemv(id<MTLCommandBuffer> cb, const GemvArgs& g);

/** `count` dispatches of the near-empty kernel storing 1 into flag, in one compute encoder. */
void encodeFlags(id<MTLCommandBuffer> cb, id<MTLBuffer> flag, int64_t count);

/** GPU time of a completed command buffer in ns (GPUEndTime - GPUStartTime). */
double gpuDurationNs(id<MTLCommandBuffer> cb);

}  // namespace gpubench::metal
