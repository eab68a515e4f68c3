// A prepared CUDA workload: device buffers filled with random inputs, a stream, CUDA events for
// warm samples and the host clock for the cold run and beside launch latency.
#include <chrono>
#include <cstring>
#include <map>
#include <vector>

#include "../common/random.h"
#include "backend.h"
#include "check.h"
#include "context.h"
#include "cublas.h"
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

struct DeviceBuffer {
  void* data = nullptr;
  size_t bytes = 0;
};

class CudaRunnable final : public DeviceRunnable {
 public:
  CudaRunnable(const WorkloadSpec& w, const CudaOptions& options) : w_(w) {
    device_ = selectedDevice();
    check(cudaSetDevice(device_), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    deviceName_ = prop.name;
    size_t freeBytes = 0, totalBytes = 0;
    check(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
    const double need = (double)w.totalBytes();
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

  void write(const std::string& name, const void* data, size_t bytes) override {
    auto& b = find(name, bytes);
    check(cudaMemcpy(b.data, data, bytes, cudaMemcpyHostToDevice), "cudaMemcpy to buffer '" + name + "'");
  }

  void read(const std::string& name, void* data, size_t bytes) override {
    auto& b = find(name, bytes);
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
    check(cudaMemcpy(data, b.data, bytes, cudaMemcpyDeviceToHost), "cudaMemcpy from buffer '" + name + "'");
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
    Nvml& nvml = Nvml::forDevice(pciBusIdOf(device_));
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
    const double energy0 = nvml.energyMillijoules();
    std::vector<double> out;
    out.reserve((size_t)n);
    if (w_.kind == Kind::Launch) {
      timer_.reserve(1);
      double hostTotal = 0;
      for (int s = 0; s < n; s++) {
        const double t0 = hostNowNs();
        timer_.start(0, ctx_.stream);
        for (int64_t l = 0; l < w_.launchesPerSample; l++) check(launchFlag(flag(), ctx_.stream), "launch");
        timer_.stop(0, ctx_.stream);
        check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
        hostTotal += hostNowNs() - t0;
        out.push_back(timer_.elapsedNs(0) / (double)w_.launchesPerSample);
      }
      hostNsPerLaunch_ = hostTotal / ((double)n * (double)w_.launchesPerSample);
    } else {
      constexpr int chunk = 256;
      timer_.reserve((size_t)std::min(n, chunk));
      for (int done = 0; done < n; done += chunk) {
        const int count = std::min(chunk, n - done);
        for (int s = 0; s < count; s++) {
          timer_.start((size_t)s, ctx_.stream);
          execute();
          timer_.stop((size_t)s, ctx_.stream);
        }
        check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
        for (int s = 0; s < count; s++) out.push_back(timer_.elapsedNs((size_t)s));
      }
    }
    const double energy1 = nvml.energyMillijoules();
    energyJoulesPerRun_ = (energy0 >= 0 && energy1 > energy0) ? (energy1 - energy0) / 1000.0 / n : -1;
    return out;
  }

  double energyJoulesPerRun() const override { return energyJoulesPerRun_; }

  void dispose() override {
    if (disposed_) return;
    disposed_ = true;
    cudaSetDevice(device_);
    if (ctx_.stream) cudaStreamSynchronize(ctx_.stream);
    timer_.release();
    if (ctx_.cublasHandle) cublas().destroy(ctx_.cublasHandle);
    ctx_.cublasHandle = nullptr;
    for (auto& [name, b] : buffers_)
      if (b.data) cudaFree(b.data);
    buffers_.clear();
    if (ctx_.stream) cudaStreamDestroy(ctx_.stream);
    ctx_.stream = nullptr;
  }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    if (w_.kind == Kind::Gemm || w_.kind == Kind::VjpLinearLayer)
      out.push_back(ctx_.cublasHandle ? "gemm: cublas (" + cublas().detail + ")"
                                      : std::string("gemm: own (") + (w_.dtype == Dtype::F16 ? "WMMA tensor cores" : "tiled f32") +
                                            ")" + (gemmNote_.empty() ? "" : "; " + gemmNote_));
    out.push_back("timing: CUDA events around each run; the cold run is timed with the host clock (lazy module load included)");
    if (w_.kind == Kind::Launch && hostNsPerLaunch_ > 0)
      out.push_back("host clock: " + std::to_string((long long)hostNsPerLaunch_) + " ns per launch over the last run");
    return out;
  }

 private:
  void allocate() {
    check(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking), "cudaStreamCreate");
    uint64_t seed = 0x6375646162ull;
    for (const auto& spec : w_.buffers()) {
      DeviceBuffer& b = buffers_[spec.name];
      b.bytes = (size_t)(spec.length * w_.elementBytes());
      check(cudaMalloc(&b.data, b.bytes), "cudaMalloc (buffer '" + spec.name + "', " + formatBytes((double)b.bytes) + ")");
      if (spec.output) {
        check(cudaMemset(b.data, 0, b.bytes), "cudaMemset");
      } else {
        std::vector<unsigned char> host(b.bytes);
        fillRandom(host.data(), spec.length, w_.elementBytes() == 2, seed++);
        check(cudaMemcpy(b.data, host.data(), b.bytes, cudaMemcpyHostToDevice), "cudaMemcpy");
      }
      (spec.output ? outputs_ : inputs_).push_back(b.data);
    }
    // cudaMemset runs on the legacy default stream, which a non-blocking stream does not wait for.
    check(cudaDeviceSynchronize(), "cudaDeviceSynchronize");
  }

  void setUpGemm(const CudaOptions& options) {
    if (options.gemm != "auto" && options.gemm != "cublas" && options.gemm != "own")
      throw NativeError("cuda option 'gemm' must be 'auto', 'cublas' or 'own', got '" + options.gemm + "'");
    const bool usesGemm = w_.kind == Kind::Gemm || w_.kind == Kind::VjpLinearLayer;
    if (!usesGemm || options.gemm == "own") return;
    const Cublas& c = cublas();
    if (!c.available()) {
      if (options.gemm == "cublas") throw NativeError("gemm: 'cublas' asked for, but cuBLAS is " + c.detail);
      gemmNote_ = "cuBLAS " + c.detail;
      return;
    }
    void* handle = nullptr;
    if (int s = c.create(&handle); s != 0) {
      if (options.gemm == "cublas") throw NativeError("cublasCreate failed with status " + std::to_string(s));
      gemmNote_ = "cublasCreate failed with status " + std::to_string(s);
      return;
    }
    ctx_.cublasHandle = handle;
    if (int s = c.setStream(handle, ctx_.stream); s != 0)
      throw NativeError("cublasSetStream failed with status " + std::to_string(s));
  }

  void live() const {
    if (disposed_) throw NativeError("the runnable was disposed");
  }

  DeviceBuffer& find(const std::string& name, size_t bytes) {
    live();
    auto it = buffers_.find(name);
    if (it == buffers_.end()) throw NativeError("no buffer named '" + name + "'");
    if (it->second.bytes != bytes)
      throw NativeError("buffer '" + name + "' holds " + std::to_string(it->second.bytes) + " bytes, got " +
                        std::to_string(bytes));
    return it->second;
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
      case Kind::Gemv:
        check(launchGemv((int)w_.m, (int)w_.n, inputs_[0], inputs_[1], outputs_[0], w_.trans, f16, ctx_.stream),
              "GEMV kernel launch");
        break;
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
  int device_ = 0;
  std::string deviceName_;
  CudaContext ctx_;
  std::map<std::string, DeviceBuffer> buffers_;
  std::vector<void*> inputs_, outputs_;
  EventTimer timer_;
  std::string gemmNote_;
  double hostNsPerLaunch_ = 0;
  double energyJoulesPerRun_ = -1;
  bool disposed_ = false;
};

}  // namespace

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload, const CudaOptions& options) {
  const CudaProbe p = probe();
  if (!p.available) throw NativeError("CUDA unavailable: " + p.reason);
  return std::make_unique<CudaRunnable>(workload, options);
}

}  // namespace gpubench::cuda
