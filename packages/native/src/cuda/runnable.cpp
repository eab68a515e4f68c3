// A prepared CUDA workload: device buffers filled with random inputs, a stream every copy and
// kernel goes through, CUDA events for warm samples and the host clock for the cold run and beside
// launch latency. How samples are timed (warm-up, back-to-back runs per event pair, L2 flush) is
// planned by common/timing_plan.h and said in the notes, with the GEMM path and the energy window.
#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include "../common/geometry.h"
#include "../common/random.h"
#include "../common/timing_plan.h"
#include "backend.h"
#include "check.h"
#include "context.h"
#include "cublas.h"
#include "energy.h"
#include "nvml.h"
#include "timer.h"

namespace gpubench::cuda {

int selectedDevice();
std::string pciBusIdOf(int device);

namespace {

double hostNowNs() {
  return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

/** At most this many runs in one warm-up, however short they are. */
constexpr int64_t kMaxWarmupRuns = 1000000;

struct DeviceBuffer {
  void* data = nullptr;
  size_t bytes = 0;
};

class CudaRunnable final : public DeviceRunnable {
 public:
  CudaRunnable(const WorkloadSpec& w, const CudaOptions& options) : w_(w), fixedRunsPerSample_(options.runsPerSample) {
    if (options.runsPerSample < 0 || options.runsPerSample > kMaxRunsPerSample)
      throw NativeError("cuda option 'runsPerSample' must be 0 (planned) or 1.." + std::to_string(kMaxRunsPerSample) +
                        ", got " + std::to_string(options.runsPerSample));
    device_ = selectedDevice();
    check(cudaSetDevice(device_), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    deviceName_ = prop.name;
    ctx_.smCount = prop.multiProcessorCount;
    l2Bytes_ = (double)prop.l2CacheSize;
    size_t freeBytes = 0, totalBytes = 0;
    check(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
    const double need = (double)w.totalBytes() + workspaceBytes();
    if (need > (double)freeBytes)
      throw NativeError("needs " + formatBytes(need) + " of device memory, more than the " +
                        formatBytes((double)freeBytes) + " free on " + deviceName_);
    try {
      allocate();
      setUpGemm(options);
    } catch (...) {
      dispose();
      throw;
    }
  }

  ~CudaRunnable() override { dispose(); }

  // Copies go through the kernels' stream (a non-blocking stream does not wait for the legacy
  // default stream), and complete before returning, so a write is seen by the next run and a read
  // sees the last one.
  void write(const std::string& name, const void* data, size_t bytes) override {
    auto& b = find(name, bytes);
    check(cudaMemcpyAsync(b.data, data, bytes, cudaMemcpyHostToDevice, ctx_.stream),
          "cudaMemcpyAsync to buffer '" + name + "'");
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize after writing '" + name + "'");
  }

  void read(const std::string& name, void* data, size_t bytes) override {
    auto& b = find(name, bytes);
    check(cudaMemcpyAsync(data, b.data, bytes, cudaMemcpyDeviceToHost, ctx_.stream),
          "cudaMemcpyAsync from buffer '" + name + "'");
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize after reading '" + name + "'");
  }

  double coldNs() override {
    live();
    // Host clock: the first launch's lazy module load happens on the host, before anything is enqueued.
    const double t0 = hostNowNs();
    execute();
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
    return hostNowNs() - t0;
  }

  std::vector<double> runNs(int n) override {
    live();
    check(cudaSetDevice(device_), "cudaSetDevice");
    if (needsWarmup(lastRunEndNs_, hostNowNs())) warmUp();
    Nvml& nvml = Nvml::forDevice(pciBusIdOf(device_));
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
    const double t0 = hostNowNs();
    const double energy0 = nvml.energyMillijoules();
    std::vector<double> out;
    out.reserve((size_t)n);
    const bool launch = w_.kind == Kind::Launch;
    const int64_t perSample = launch ? w_.launchesPerSample : plan_.runsPerSample;
    constexpr int chunk = 256;
    timer_.reserve((size_t)std::min(n, chunk));
    for (int done = 0; done < n; done += chunk) {
      const int count = std::min(chunk, n - done);
      for (int s = 0; s < count; s++) {
        if (plan_.flushL2) flushL2();
        timer_.start((size_t)s, ctx_.stream);
        for (int64_t r = 0; r < perSample; r++) execute();
        timer_.stop((size_t)s, ctx_.stream);
      }
      check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
      for (int s = 0; s < count; s++) out.push_back(timer_.elapsedNs((size_t)s) / (double)perSample);
    }
    const double energy1 = nvml.energyMillijoules();
    const double t1 = hostNowNs();
    const double executions = (double)n * (double)perSample;
    if (launch) hostNsPerLaunch_ = (t1 - t0) / executions;
    energy_.add(energy0 >= 0 && energy1 >= energy0 ? energy1 - energy0 : -1, executions, t1 - t0);
    lastRunEndNs_ = t1;
    return out;
  }

  double energyJoulesPerRun() const override { return energy_.joulesPerExecution(); }

  void dispose() override {
    if (disposed_) return;
    disposed_ = true;
    cudaSetDevice(device_);
    if (ctx_.stream) cudaStreamSynchronize(ctx_.stream);
    timer_.release();
    if (ctx_.cublasHandle) ctx_.cublas->destroy(ctx_.cublasHandle);
    ctx_.cublasHandle = nullptr;
    for (auto& [name, b] : buffers_)
      if (b.data) cudaFree(b.data);
    buffers_.clear();
    for (void* p : {(void*)ctx_.gemvWorkspace, flush_.data})
      if (p) cudaFree(p);
    ctx_.gemvWorkspace = nullptr;
    flush_ = DeviceBuffer{};
    if (ctx_.stream) cudaStreamDestroy(ctx_.stream);
    ctx_.stream = nullptr;
  }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    if (w_.kind == Kind::Gemm || w_.kind == Kind::VjpLinearLayer) out.push_back(gemmNote_);
    if (w_.kind == Kind::Launch) {
      out.push_back("timing: CUDA events around " + std::to_string(w_.launchesPerSample) +
                    " back-to-back launches per sample, the time per launch reported");
      if (hostNsPerLaunch_ > 0)
        out.push_back("host clock: " + std::to_string((long long)hostNsPerLaunch_) +
                      " ns per launch over the last run");
    } else {
      out.push_back(warmedUp_ ? "timing: CUDA events around " + std::to_string(plan_.runsPerSample) +
                                    " back-to-back run(s) per sample, the time per run reported" +
                                    (fixedRunsPerSample_ > 0 ? " (fixed by the option runsPerSample)" : "")
                              : "timing: CUDA events; planned at the first run (none yet)");
      if (warmedUp_) out.push_back("cache: " + plan_.cache);
    }
    out.push_back("cold: the first run timed with the host clock (lazy module load included)");
    if (warmedUp_) out.push_back(warmupNote_);
    const Nvml& nvml = Nvml::forDevice(pciBusIdOf(device_));
    if (nvml.energyMillijoules() < 0)
      out.push_back("energy: not reported (NVML: " + nvml.detail() + ")");
    else
      out.push_back(energy_.describe(w_.kind == Kind::Launch ? "launch" : "run") +
                    (plan_.flushL2 ? " (includes the L2 flush before each run)" : ""));
    return out;
  }

 private:
  /** Bytes of the Aᵀ·x workspace this workload needs. */
  double workspaceBytes() const {
    const bool colsGemv = (w_.kind == Kind::Gemv && w_.trans) || w_.kind == Kind::VjpLinearMap;
    return colsGemv ? 4.0 * (double)gemvColsGeometry(w_.m, w_.n, ctx_.smCount).workspaceFloats : 0.0;
  }

  void allocate() {
    check(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    uint64_t seed = 0x6375646162ull;
    for (const auto& spec : w_.buffers()) {
      DeviceBuffer& b = buffers_[spec.name];
      b.bytes = (size_t)(spec.length * w_.elementBytes());
      check(cudaMalloc(&b.data, b.bytes),
            "cudaMalloc (buffer '" + spec.name + "', " + formatBytes((double)b.bytes) + ")");
      if (spec.output) {
        check(cudaMemsetAsync(b.data, 0, b.bytes, ctx_.stream), "cudaMemsetAsync");
      } else {
        std::vector<unsigned char> host(b.bytes);
        fillRandom(host.data(), spec.length, w_.elementBytes() == 2, seed++);
        check(cudaMemcpyAsync(b.data, host.data(), b.bytes, cudaMemcpyHostToDevice, ctx_.stream), "cudaMemcpyAsync");
        check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");  // before `host` goes away
      }
      (spec.output ? outputs_ : inputs_).push_back(b.data);
    }
    if (const double bytes = workspaceBytes(); bytes > 0)
      check(cudaMalloc(reinterpret_cast<void**>(&ctx_.gemvWorkspace), (size_t)bytes),
            "cudaMalloc (GEMV workspace, " + formatBytes(bytes) + ")");
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
  }

  void setUpGemm(const CudaOptions& options) {
    const bool usesGemm = w_.kind == Kind::Gemm || w_.kind == Kind::VjpLinearLayer;
    if (!usesGemm) return checkGemmOption(options.gemm);
    gemmNote_ = setUpGemmOn(ctx_, options.gemm, w_.dtype == Dtype::F16 ? "WMMA tensor cores" : "tiled f32");
  }

  /**
   * Back-to-back runs for at least kWarmupNs (clocks settle), timed in growing batches; the last
   * batch's time per run fixes the timing plan at the first warm-up.
   */
  void warmUp() {
    const double t0 = hostNowNs();
    timer_.reserve(1);
    int64_t runs = 0, batch = 1;
    double estimate = 0;
    while (true) {
      timer_.start(0, ctx_.stream);
      for (int64_t r = 0; r < batch; r++) execute();
      timer_.stop(0, ctx_.stream);
      check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
      estimate = timer_.elapsedNs(0) / (double)batch;
      runs += batch;
      if (hostNowNs() - t0 >= kWarmupNs || runs >= kMaxWarmupRuns) break;
      batch = std::min<int64_t>(batch * 2, 4096);
    }
    const double tookNs = hostNowNs() - t0;
    if (!warmedUp_ && w_.kind != Kind::Launch) {
      const double workingSet = (double)w_.totalBytes();
      const int64_t runs = fixedRunsPerSample_ > 0 ? fixedRunsPerSample_ : runsPerSample(estimate);
      plan_ = planTimingFor(runs, workingSet, l2Bytes_, true);
      if (plan_.flushL2) {
        flush_.bytes = (size_t)(2 * l2Bytes_);
        if (cudaMalloc(&flush_.data, flush_.bytes) != cudaSuccess) {
          cudaGetLastError();
          flush_ = DeviceBuffer{};
          plan_ = planTimingFor(runs, workingSet, l2Bytes_, false);
          plan_.cache += " (allocating the flush buffer failed)";
        }
      }
    }
    warmedUp_ = true;
    warmupNote_ = "warm-up: " + std::to_string(runs) + " runs in " + std::to_string((long long)(tookNs / 1e6)) +
                  " ms before the first sample (again after 1 s without runs); last estimate " +
                  std::to_string((long long)estimate) + " ns per run";
  }

  /** Overwrites twice the L2's size, so no operand stays cached into the next sample. */
  void flushL2() {
    check(cudaMemsetAsync(flush_.data, ++flushValue_ & 0xff, flush_.bytes, ctx_.stream), "cudaMemsetAsync (L2 flush)");
  }

  void live() const {
    if (disposed_) throw NativeError("the runnable was disposed");
  }

  DeviceBuffer& find(const std::string& name, size_t bytes) {
    live();
    return findBuffer(buffers_, name, bytes, [](const DeviceBuffer& b) { return b.bytes; });
  }

  float* flag() { return static_cast<float*>(outputs_[0]); }

  void execute() {
    const bool f16 = w_.dtype == Dtype::F16;
    switch (w_.kind) {
      case Kind::Gemm: {
        GemmDesc d{(int)w_.m,
                   (int)w_.n,
                   (int)w_.k,
                   (int)w_.batch,
                   inputs_[0],
                   w_.transA ? 1 : w_.k,
                   w_.transA ? w_.m : 1,
                   w_.m * w_.k,
                   inputs_[1],
                   w_.transB ? 1 : w_.n,
                   w_.transB ? w_.k : 1,
                   w_.k * w_.n,
                   outputs_[0],
                   w_.n,
                   w_.m * w_.n,
                   f16};
        enqueueGemm(ctx_, d, w_.transA, w_.transB);
        break;
      }
      case Kind::Gemv: {
        const GemvDesc d{(int)w_.m, (int)w_.n, inputs_[0], inputs_[1], outputs_[0], w_.trans, f16, ctx_.gemvWorkspace};
        check(launchGemv(d, ctx_.smCount, ctx_.stream), "GEMV kernel launch");
        break;
      }
      case Kind::VjpLinearMap:
      case Kind::VjpLinearLayer:
        enqueueVjp(ctx_, w_, inputs_.data(), outputs_.data());
        break;
      case Kind::Launch:
        check(launchFlag(flag(), ctx_.stream), "launch");
        break;
    }
  }

  WorkloadSpec w_;
  int fixedRunsPerSample_ = 0;
  int device_ = 0;
  std::string deviceName_;
  double l2Bytes_ = 0;
  CudaContext ctx_;
  std::map<std::string, DeviceBuffer> buffers_;
  std::vector<void*> inputs_, outputs_;
  DeviceBuffer flush_;
  int flushValue_ = 0;
  EventTimer timer_;
  std::string gemmNote_;
  TimingPlan plan_;
  bool warmedUp_ = false;
  std::string warmupNote_;
  double lastRunEndNs_ = -1;
  double hostNsPerLaunch_ = 0;
  EnergyWindow energy_;
  bool disposed_ = false;
};

}  // namespace

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload, const CudaOptions& options) {
  const CudaProbe p = probe();
  if (!p.available) throw NativeError("CUDA unavailable: " + p.reason);
  return std::make_unique<CudaRunnable>(workload, options);
}

}  // namespace gpubench::cuda
