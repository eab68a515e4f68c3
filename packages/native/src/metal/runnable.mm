// A prepared Metal workload: shared-storage buffers (unified memory: reads and writes are memcpy),
// timed by command buffers' GPU start and end. As on CUDA (common/timing_plan.h): a time-based
// warm-up, then samples of several back-to-back runs in one command buffer when one run is short,
// command buffers committed several at a time so the GPU does not idle between samples. Launch
// latency: launchesPerSample dispatches in one command buffer (launches in one queue, like CUDA's
// stream); the per-command-buffer figure is kept apart, under its own name in the notes.
#include <algorithm>
#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include "../common/random.h"
#include "../common/timing_plan.h"
#include "backend.h"
#include "context.h"

namespace gpubench::metal {

void encodeVjp(id<MTLCommandBuffer> cb, const WorkloadSpec& w, const std::vector<id<MTLBuffer>>& in,
               const std::vector<id<MTLBuffer>>& out, id<MTLBuffer> gemvWorkspace);

namespace {

/** Command buffers in flight at once while sampling. */
constexpr int kInFlight = 16;
/** At most this many runs in one warm-up, however short they are. */
constexpr int64_t kMaxWarmupRuns = 1000000;

double hostNowNs() {
  return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

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
    const bool colsGemv = (w.kind == Kind::Gemv && w.trans) || w.kind == Kind::VjpLinearMap;
    const int64_t workspaceFloats = colsGemv ? gemvWorkspaceFloats(w.m, w.n, true) : 0;
    const double need = (double)w.totalBytes() + 4.0 * (double)workspaceFloats;
    const double limit = (double)c.device.recommendedMaxWorkingSetSize;
    if (need > limit)
      throw NativeError("needs " + formatBytes(need) + ", more than the " + formatBytes(limit) + " working set of " +
                        c.device.name.UTF8String);
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
    if (workspaceFloats > 0) {
      workspace_ = [c.device newBufferWithLength:(NSUInteger)(4 * workspaceFloats)
                                         options:MTLResourceStorageModePrivate];
      if (!workspace_) throw NativeError("allocating the GEMV workspace failed");
    }
    const bool f16Gemm = w.dtype == Dtype::F16 && (w.kind == Kind::Gemm || w.kind == Kind::VjpLinearLayer);
    if (f16Gemm) f16Note_ = mpsF16AccumulationNote();
  }

  void write(const std::string& name, const void* data, size_t bytes) override {
    std::memcpy(find(name, bytes).contents, data, bytes);
  }

  void read(const std::string& name, void* data, size_t bytes) override {
    std::memcpy(data, find(name, bytes).contents, bytes);
  }

  double coldNs() override {
    live();
    // Host clock: the first run compiles the MSL library and pipelines, which GPU timestamps miss.
    const double t0 = hostNowNs();
    @autoreleasepool {
      id<MTLCommandBuffer> cb = [context().queue commandBuffer];
      encodeRuns(cb, 1);
      [cb commit];
      completed(cb);
    }
    return hostNowNs() - t0;
  }

  std::vector<double> runNs(int n) override {
    live();
    if (needsWarmup(lastRunEndNs_, hostNowNs())) warmUp();
    const int64_t perSample = w_.kind == Kind::Launch ? w_.launchesPerSample : plan_.runsPerSample;
    std::vector<double> out;
    out.reserve((size_t)n);
    for (int done = 0; done < n; done += kInFlight) {
      const int count = std::min(kInFlight, n - done);
      @autoreleasepool {
        std::vector<id<MTLCommandBuffer>> cbs;
        for (int s = 0; s < count; s++) {
          id<MTLCommandBuffer> cb = [context().queue commandBuffer];
          encodeRuns(cb, perSample);
          [cb commit];
          cbs.push_back(cb);
        }
        for (auto cb : cbs) {
          completed(cb);
          out.push_back(gpuDurationNs(cb) / (double)perSample);
        }
      }
    }
    if (w_.kind == Kind::Launch) measureCommandBuffers();
    lastRunEndNs_ = hostNowNs();
    return out;
  }

  void dispose() override {
    buffers_.clear();
    inputs_.clear();
    outputs_.clear();
    workspace_ = nil;
    disposed_ = true;
  }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    if (w_.kind == Kind::Gemm || w_.kind == Kind::VjpLinearLayer)
      out.push_back("gemm: MPSMatrixMultiplication" + (f16Note_.empty() ? "" : "; " + f16Note_));
    if (w_.kind == Kind::Launch) {
      out.push_back("timing: " + std::to_string(w_.launchesPerSample) +
                    " dispatches in one command buffer per sample (GPUStartTime to GPUEndTime), the time per dispatch "
                    "reported");
      if (commandBufferNs_ > 0)
        out.push_back("per command buffer: " + std::to_string((long long)commandBufferNs_) + " ns (" +
                      std::to_string(w_.launchesPerSample) +
                      " command buffers of one dispatch each, back to back, over the last run; not the samples)");
    } else {
      out.push_back(warmedUp_ ? "timing: " + std::to_string(plan_.runsPerSample) +
                                    " back-to-back run(s) per command buffer (GPUStartTime to GPUEndTime), the time "
                                    "per run reported"
                              : "timing: command buffers; planned at the first run (none yet)");
      if (warmedUp_) out.push_back("cache: " + plan_.cache);
    }
    out.push_back("cold: the first run timed with the host clock (MSL compile included)");
    if (warmedUp_) out.push_back(warmupNote_);
    out.push_back("metal backend: untested in this project's Linux CI; exercised by the macos-native workflow");
    return out;
  }

 private:
  void live() const {
    if (disposed_) throw NativeError("the runnable was disposed");
  }

  /** Back-to-back runs in growing command buffers for at least kWarmupNs; the last one's time per run fixes the plan.
   */
  void warmUp() {
    const double t0 = hostNowNs();
    int64_t runs = 0, batch = 1;
    double estimate = 0;
    while (true) {
      @autoreleasepool {
        id<MTLCommandBuffer> cb = [context().queue commandBuffer];
        encodeRuns(cb, batch);
        [cb commit];
        completed(cb);
        estimate = gpuDurationNs(cb) / (double)batch;
      }
      runs += batch;
      if (hostNowNs() - t0 >= kWarmupNs || runs >= kMaxWarmupRuns) break;
      batch = std::min<int64_t>(batch * 2, 4096);
    }
    // No cache flush on Metal (the system-level cache's size is not reported): the plan says so.
    if (!warmedUp_) plan_ = planTiming(estimate, (double)w_.totalBytes(), 0, false);
    warmedUp_ = true;
    warmupNote_ = "warm-up: " + std::to_string(runs) + " runs in " +
                  std::to_string((long long)((hostNowNs() - t0) / 1e6)) +
                  " ms before the first sample (again after 1 s without runs); last estimate " +
                  std::to_string((long long)estimate) + " ns per run";
  }

  /** launchesPerSample command buffers of one dispatch each: (last end - first start) / count. */
  void measureCommandBuffers() {
    @autoreleasepool {
      std::vector<id<MTLCommandBuffer>> cbs;
      for (int64_t l = 0; l < w_.launchesPerSample; l++) {
        id<MTLCommandBuffer> cb = [context().queue commandBuffer];
        encodeFlags(cb, outputs_[0], 1);
        [cb commit];
        cbs.push_back(cb);
      }
      for (auto cb : cbs) completed(cb);
      commandBufferNs_ = (cbs.back().GPUEndTime - cbs.front().GPUStartTime) * 1e9 / (double)w_.launchesPerSample;
    }
  }

  id<MTLBuffer> find(const std::string& name, size_t bytes) {
    live();
    return findBuffer(buffers_, name, bytes, [&](id<MTLBuffer>) { return bufferBytes(name); });
  }

  size_t bufferBytes(const std::string& name) const {
    for (const auto& spec : w_.buffers())
      if (spec.name == name) return (size_t)(spec.length * w_.elementBytes());
    return 0;
  }

  /** `count` runs of the workload (launch: `count` dispatches) into one command buffer. */
  void encodeRuns(id<MTLCommandBuffer> cb, int64_t count) {
    live();
    if (w_.kind == Kind::Launch) {
      encodeFlags(cb, outputs_[0], count);
      return;
    }
    const bool f16 = w_.dtype == Dtype::F16;
    for (int64_t r = 0; r < count; r++) {
      switch (w_.kind) {
        case Kind::Gemm:
          encodeGemm(
              cb, GemmArgs{inputs_[0], inputs_[1], outputs_[0], w_.m, w_.n, w_.k, w_.batch, w_.transA, w_.transB, f16});
          break;
        case Kind::Gemv:
          encodeGemv(cb, GemvArgs{inputs_[0], inputs_[1], outputs_[0], workspace_, w_.m, w_.n, w_.trans, f16});
          break;
        case Kind::VjpLinearMap:
        case Kind::VjpLinearLayer:
          encodeVjp(cb, w_, inputs_, outputs_, workspace_);
          break;
        case Kind::Launch:
          break;
      }
    }
  }

  WorkloadSpec w_;
  std::map<std::string, id<MTLBuffer>> buffers_;
  std::vector<id<MTLBuffer>> inputs_, outputs_;
  id<MTLBuffer> workspace_ = nil;
  std::string f16Note_;
  TimingPlan plan_;
  bool warmedUp_ = false;
  std::string warmupNote_;
  double lastRunEndNs_ = -1;
  double commandBufferNs_ = 0;
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
