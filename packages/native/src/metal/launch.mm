// The near-empty kernel of the launch-latency workload.
#include "context.h"

namespace gpubench::metal {

void encodeFlag(id<MTLCommandBuffer> cb, id<MTLBuffer> flag) {
  id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
  [enc setComputePipelineState:pipeline("flag")];
  [enc setBuffer:flag offset:0 atIndex:0];
  [enc dispatchThreads:MTLSizeMake(1, 1, 1) threadsPerThreadgroup:MTLSizeMake(1, 1, 1)];
  [enc endEncoding];
}

}  // namespace gpubench::metal
