// A prepared Metal workload: shared-storage buffers (unified memory: reads and writes are memcpy),
// one command buffer per run timed by its GPU start/end; launch latency from launchesPerSample
// command buffers committed back to back, (last end - first start) / launches.
#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include "../common/random.h"
#include "backend.h"
#include "context.h"

namespace gpubench::metal {

void encodeVjp(id<MTLCommandBuffer> cb, const WorkloadSpec& w, const std::vector<id<MTLBuffer>>& in,
               const std::vector<id<MTLBuffer>>& out);

namespace {

void completed(id<MTLCommandBuffer> cb) {
  [cb waitUntilCompleted];
  if (cb.status == MTLCommandBufferStatusError)
    throw NativeError(std::string("command buffer failed: ") +
                      (cb.error ? cb.error.localizedDescription.UTF8String : "no error description"));
}

class MetalRunnable final : public DeviceRunnable {
 public:
  explicit MetalRunnable(const WorkloadSpec& w) : w_(w) {
    MetalContext& c = context();
    const double need = (double)w.totalBytes();
    const double limit = (double)c.device.recommendedMaxWorkingSetSize;
    if (need > limit)
      throw NativeError("needs " + formatBytes(need) + ", more than the " + formatBytes(limit) +
                        " working set of " + c.device.name.UTF8String);
    uint64_t seed = 0x6d6574616cull;
    for (const auto& spec : w.buffers()) {
      const size_t bytes = (size_t)(spec.length * w.elementBytes());
      id<MTLBuffer> b = [c.device newBufferWithLength:bytes options:MTLResourceStorageModeShared];
      if (!b) throw NativeError("allocating " + formatBytes((double)bytes) + " for buffer '" + spec.name + "' failed");
      if (spec.output)
        std::memset(b.contents, 0, bytes);
      else
        fillRandom(b.contents, spec.length, w.elementBytes() == 2, seed++);
      buffers_[spec.name] = b;
      (spec.output ? outputs_ : inputs_).push_back(b);
    }
  }

  void write(const std::string& name, const void* data, size_t bytes) override {
    std::memcpy(find(name, bytes).contents, data, bytes);
  }

  void read(const std::string& name, void* data, size_t bytes) override {
    std::memcpy(data, find(name, bytes).contents, bytes);
  }

  double coldNs() override {
    // Host clock: the first run compiles the MSL library and pipelines, which GPU timestamps miss.
    const auto t0 = std::chrono::steady_clock::now();
    @autoreleasepool {
      id<MTLCommandBuffer> cb = [context().queue commandBuffer];
      encode(cb);
      [cb commit];
      completed(cb);
    }
    return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now() - t0).count();
  }

  std::vector<double> runNs(int n) override {
    live();
    std::vector<double> out;
    for (int s = 0; s < n; s++) {
      @autoreleasepool {
        if (w_.kind == Kind::Launch) {
          std::vector<id<MTLCommandBuffer>> cbs;
          for (int64_t l = 0; l < w_.launchesPerSample; l++) {
            id<MTLCommandBuffer> cb = [context().queue commandBuffer];
            encodeFlag(cb, outputs_[0]);
            [cb commit];
            cbs.push_back(cb);
          }
          for (auto cb : cbs) completed(cb);
          out.push_back((cbs.back().GPUEndTime - cbs.front().GPUStartTime) * 1e9 / (double)w_.launchesPerSample);
        } else {
          id<MTLCommandBuffer> cb = [context().queue commandBuffer];
          encode(cb);
          [cb commit];
          completed(cb);
          out.push_back(gpuDurationNs(cb));
        }
      }
    }
    return out;
  }

  void dispose() override {
    buffers_.clear();
    inputs_.clear();
    outputs_.clear();
    disposed_ = true;
  }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    if (w_.kind == Kind::Gemm || w_.kind == Kind::VjpLinearLayer) out.push_back("gemm: MPSMatrixMultiplication");
    out.push_back("timing: command buffer GPUStartTime/GPUEndTime; the cold run is timed with the host clock (MSL compile included)");
    out.push_back("metal backend: untested in this project's Linux CI; exercised by the macos-native workflow");
    return out;
  }

 private:
  void live() const {
    if (disposed_) throw NativeError("the runnable was disposed");
  }

  id<MTLBuffer> find(const std::string& name, size_t bytes) {
    live();
    auto it = buffers_.find(name);
    if (it == buffers_.end()) throw NativeError("no buffer named '" + name + "'");
    if (bytes != bufferBytes(name))
      throw NativeError("buffer '" + name + "' holds " + std::to_string(bufferBytes(name)) + " bytes, got " +
                        std::to_string(bytes));
    return it->second;
  }

  size_t bufferBytes(const std::string& name) const {
    for (const auto& spec : w_.buffers())
      if (spec.name == name) return (size_t)(spec.length * w_.elementBytes());
    return 0;
  }

  void encode(id<MTLCommandBuffer> cb) {
    live();
    const bool f16 = w_.dtype == Dtype::F16;
    switch (w_.kind) {
      case Kind::Gemm:
        encodeGemm(cb, GemmArgs{inputs_[0], inputs_[1], outputs_[0], w_.m, w_.n, w_.k, w_.batch, w_.transA, w_.transB, f16});
        break;
      case Kind::Gemv:
        encodeGemv(cb, inputs_[0], inputs_[1], outputs_[0], w_.m, w_.n, w_.trans, f16);
        break;
      case Kind::VjpLinearMap:
      case Kind::VjpLinearLayer:
        encodeVjp(cb, w_, inputs_, outputs_);
        break;
      case Kind::Launch:
        encodeFlag(cb, outputs_[0]);
        break;
    }
  }

  WorkloadSpec w_;
  std::map<std::string, id<MTLBuffer>> buffers_;
  std::vector<id<MTLBuffer>> inputs_, outputs_;
  bool disposed_ = false;
};

}  // namespace

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload) {
  const MetalProbe p = probe();
  if (!p.available) throw NativeError("Metal unavailable: " + p.reason);
  @autoreleasepool {
    return std::make_unique<MetalRunnable>(workload);
  }
}

}  // namespace gpubench::metal
