// Device, queue, MSL library and pipelines of the Metal backend, and the probe.
#include <map>
#include <mutex>

#include "../common/spec.h"
#include "backend.h"
#include "context.h"
#include "shaders.h"

namespace gpubench::metal {

MetalContext& context() {
  static MetalContext ctx = [] {
    MetalContext c;
    c.device = MTLCreateSystemDefaultDevice();
    if (c.device) c.queue = [c.device newCommandQueue];
    return c;
  }();
  return ctx;
}

id<MTLComputePipelineState> pipeline(const std::string& name) {
  static std::mutex mutex;
  static id<MTLLibrary> library = nil;
  static std::map<std::string, id<MTLComputePipelineState>> pipelines;
  std::lock_guard<std::mutex> lock(mutex);
  auto found = pipelines.find(name);
  if (found != pipelines.end()) return found->second;
  MetalContext& c = context();
  NSError* error = nil;
  if (!library) {
    library = [c.device newLibraryWithSource:[NSString stringWithUTF8String:kShaderSource] options:nil error:&error];
    if (!library)
      throw NativeError(std::string("compiling the MSL kernels failed: ") +
                        (error ? error.localizedDescription.UTF8String : "no error description"));
  }
  id<MTLFunction> fn = [library newFunctionWithName:[NSString stringWithUTF8String:name.c_str()]];
  if (!fn) throw NativeError("no MSL function named '" + name + "'");
  id<MTLComputePipelineState> state = [c.device newComputePipelineStateWithFunction:fn error:&error];
  if (!state)
    throw NativeError("pipeline '" + name +
                      "': " + (error ? error.localizedDescription.UTF8String : "no error description"));
  pipelines[name] = state;
  return state;
}

MetalProbe probe() {
  MetalProbe p;
  @autoreleasepool {
    MetalContext& c = context();
    if (!c.device) {
      p.reason = "no Metal device (MTLCreateSystemDefaultDevice returned nil)";
      return p;
    }
    p.available = true;
    p.name = c.device.name.UTF8String;
    p.memoryBytes = (double)c.device.recommendedMaxWorkingSetSize;
    p.unifiedMemory = c.device.hasUnifiedMemory;
  }
  return p;
}

}  // namespace gpubench::metal
