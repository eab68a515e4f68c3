// Metal's device-side timing: a completed command buffer's GPUStartTime and GPUEndTime (seconds, host timebase).
#include "context.h"

namespace gpubench::metal {

double gpuDurationNs(id<MTLCommandBuffer> cb) { return (cb.GPUEndTime - cb.GPUStartTime) * 1e9; }

}  // namespace gpubench::metal
