// GEMV on Metal: one 32-wide threadgroup (a SIMD group) per row for A·x, one thread per column for Aᵀ·x.
#include "context.h"

namespace gpubench::metal {

void encodeGemv(id<MTLCommandBuffer> cb, id<MTLBuffer> A, id<MTLBuffer> x, id<MTLBuffer> y, int64_t m, int64_t n,
                bool trans, bool f16) {
  const std::string name = std::string(trans ? "gemv_cols_" : "gemv_rows_") + (f16 ? "f16" : "f32");
  id<MTLComputePipelineState> state = pipeline(name);
  id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
  [enc setComputePipelineState:state];
  [enc setBuffer:A offset:0 atIndex:0];
  [enc setBuffer:x offset:0 atIndex:1];
  [enc setBuffer:y offset:0 atIndex:2];
  const uint32_t dims[2] = {(uint32_t)m, (uint32_t)n};
  [enc setBytes:dims length:sizeof dims atIndex:3];
  if (trans)
    [enc dispatchThreads:MTLSizeMake((NSUInteger)n, 1, 1) threadsPerThreadgroup:MTLSizeMake(64, 1, 1)];
  else
    [enc dispatchThreadgroups:MTLSizeMake((NSUInteger)m, 1, 1) threadsPerThreadgroup:MTLSizeMake(32, 1, 1)];
  [enc endEncoding];
}

}  // namespace gpubench::metal
