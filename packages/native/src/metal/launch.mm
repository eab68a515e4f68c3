// The near-empty kernel of the launch-latency workload: dispatches back to back in one encoder,
// as kernel launches follow each other in one CUDA stream.
#include "context.h"

namespace gpubench::metal {

void encodeFlags(id<MTLCommandBuffer> cb, id<MTLBuffer> flag, int64_t count) {
  id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
  [enc setComputePipelineState:pipeline("flag")];
  [enc setBuffer:flag offset:0 atIndex:0];
  for (int64_t i = 0; i < count; i++)
    [enc dispatchThreads:MTLSizeMake(1, 1, 1) threadsPerThreadgroup:MTLSizeMake(1, 1, 1)];
  [enc endEncoding];
}

}  // namespace gpubench::metal
