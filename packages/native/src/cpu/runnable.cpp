// A prepared CPU workload: page-aligned host buffers (huge pages for large ones) filled with random inputs, a kernel
// context, and steady-clock timing around each execution.
#include "runnable.h"

#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <new>

#if defined(__linux__)
#include <sys/mman.h>
#endif

#include "../common/random.h"
#include "cpu_features.h"
#include "timer.h"

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace gpubench::cpu {

namespace {

#if !defined(__APPLE__)
/** A field of /proc/meminfo ("MemAvailable:", "MemTotal:") in bytes, or 0 when it cannot be read. */
double meminfoBytes(const char* field) {
  std::ifstream in("/proc/meminfo");
  std::string key;
  double kb;
  std::string unit;
  while (in >> key >> kb >> unit)
    if (key == field) return kb * 1024.0;
  return 0;
}
#endif

/** Memory a new allocation can have without swapping: MemAvailable on Linux, physical memory on macOS. */
double availableMemoryBytes() {
#if defined(__APPLE__)
  uint64_t bytes = 0;
  size_t size = sizeof bytes;
  if (sysctlbyname("hw.memsize", &bytes, &size, nullptr, 0) == 0) return (double)bytes;
  return 0;
#else
  return meminfoBytes("MemAvailable:");
#endif
}

double totalMemoryBytes() {
#if defined(__APPLE__)
  return availableMemoryBytes();
#else
  return meminfoBytes("MemTotal:");
#endif
}

/** Buffers of at least this size are backed by 2 MiB pages where the kernel allows it. */
constexpr size_t kHugePageBytes = 2u << 20;

struct AlignedBuffer {
  void* data = nullptr;
  size_t bytes = 0;
  bool f16 = false;
  AlignedBuffer() = default;
  AlignedBuffer(const AlignedBuffer&) = delete;
  AlignedBuffer& operator=(const AlignedBuffer&) = delete;
  ~AlignedBuffer() { std::free(data); }
};

/**
 * Page-aligned memory for one buffer, so where it lands cannot change how fast a kernel runs:
 *  - every buffer starts on a 4 KiB page, so the low 12 address bits of A, x and y, and with them
 *    which loads and stores can alias in the core's store buffer (4K aliasing), are the same in
 *    every prepare (with malloc's 16- or 64-byte alignment they differed from prepare to prepare);
 *  - buffers of 2 MiB or more are 2 MiB-aligned and asked to be backed by transparent huge pages
 *    (madvise; Linux's default THP policy honours it). With 4 KiB pages the physical pages, and so
 *    the cache sets a matrix of several MiB maps to, were drawn anew by every allocation, and a
 *    16 MiB matrix needed 4096 TLB entries; with 2 MiB pages both are fixed. Where the kernel
 *    declines, the buffer still works, on small pages.
 */
void allocate(AlignedBuffer& buf, const std::string& name) {
  const bool huge = buf.bytes >= kHugePageBytes;
  const size_t alignment = huge ? kHugePageBytes : 4096;
  // Rounded up to the alignment, as aligned_alloc requires, and so a huge buffer ends on a huge page.
  const size_t rounded = (buf.bytes + alignment - 1) / alignment * alignment;
  if (posix_memalign(&buf.data, alignment, rounded) != 0 || !buf.data) {
    buf.data = nullptr;
    throw NativeError("allocation of " + formatBytes((double)rounded) + " for buffer '" + name + "' failed");
  }
#if defined(__linux__) && defined(MADV_HUGEPAGE)
  // Before the first touch, so the pages are faulted in huge; advice only, its failure is harmless.
  if (huge) madvise(buf.data, rounded, MADV_HUGEPAGE);
#endif
}

class CpuRunnable final : public DeviceRunnable {
 public:
  CpuRunnable(const WorkloadSpec& w, const CpuOptions& options) : w_(w) {
    const double limit = options.memoryLimitBytes > 0 ? options.memoryLimitBytes : availableMemoryBytes();
    const double need = (double)w.totalBytes();
    if (limit > 0 && need > limit) {
      std::string parts;
      for (const auto& b : w.buffers())
        parts += (parts.empty() ? "" : ", ") + b.name + " " + formatBytes((double)b.length * (double)w.elementBytes());
      throw NativeError("needs " + formatBytes(need) + " for its buffers (" + parts + "), more than the " +
                        formatBytes(limit) + (options.memoryLimitBytes > 0 ? " memory limit" : " of memory available"));
    }
    ctx_.kernels = &selectKernels(options.isa);
    ctx_.blas = chooseBlas(options.blas);
    ctx_.pool = nullptr;  // started lazily by the first execution, so a cold run pays for it
    uint64_t seed = 0x6770756265ull;
    for (const auto& b : w.buffers()) {
      auto& buf = buffers_[b.name];
      buf.bytes = (size_t)(b.length * w.elementBytes());
      buf.f16 = w.elementBytes() == 2;
      allocate(buf, b.name);
      if (b.output)
        std::memset(buf.data, 0, buf.bytes);
      else
        fillRandom(buf.data, b.length, buf.f16, seed++);
      order_.push_back(&buf);
      (b.output ? outputs_ : inputs_).push_back(buf.data);
    }
  }

  void write(const std::string& name, const void* data, size_t bytes) override {
    auto& buf = find(name, bytes);
    std::memcpy(buf.data, data, bytes);
  }

  void read(const std::string& name, void* data, size_t bytes) override {
    auto& buf = find(name, bytes);
    std::memcpy(data, buf.data, bytes);
  }

  double coldNs() override {
    coldPaidPoolStart_ = !ThreadPool::globalStarted();
    const double t0 = nowNs();
    execute();
    return nowNs() - t0;
  }

  std::vector<double> runNs(int n) override {
    std::vector<double> out;
    out.reserve((size_t)n);
    for (int i = 0; i < n; i++) {
      if (w_.kind == Kind::Launch) {
        ensurePool();
        float* flag = static_cast<float*>(outputs_[0]);
        const double t0 = nowNs();
        for (int64_t l = 0; l < w_.launchesPerSample; l++) launch(*ctx_.pool, flag);
        out.push_back((nowNs() - t0) / (double)w_.launchesPerSample);
      } else {
        const double t0 = nowNs();
        execute();
        out.push_back(nowNs() - t0);
      }
    }
    return out;
  }

  void dispose() override {
    buffers_.clear();
    order_.clear();
    inputs_.clear();
    outputs_.clear();
    ctx_.ws = KernelWorkspace{};
    disposed_ = true;
  }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    out.push_back(std::string("kernels: ") + ctx_.kernels->isa);
    if (usesGemm()) {
      const bool system = ctx_.blas && w_.dtype == Dtype::F32;
      out.push_back(std::string("gemm: ") + (system ? ctx_.blas->name + " (" + ctx_.blas->detail + ")"
                                                    : std::string("own ") + ctx_.kernels->isa));
    }
    if (w_.kind == Kind::Launch)
      out.push_back(
          std::string(
              "launch: one near-empty task handed to a helper thread of the thread pool, waited for; cold run ") +
          (coldPaidPoolStart_ ? "included starting the pool's threads" : "found the pool already started"));
    return out;
  }

 private:
  bool usesGemm() const { return w_.kind == Kind::Gemm || w_.kind == Kind::VjpLinearLayer; }

  AlignedBuffer& find(const std::string& name, size_t bytes) {
    if (disposed_) throw NativeError("the runnable was disposed");
    return findBuffer(buffers_, name, bytes, [](const AlignedBuffer& b) { return b.bytes; });
  }

  void ensurePool() {
    if (!ctx_.pool) ctx_.pool = &ThreadPool::global();
  }

  void execute() {
    if (disposed_) throw NativeError("the runnable was disposed");
    ensurePool();
    switch (w_.kind) {
      case Kind::Gemm:
        if (problems_.empty()) problems_ = gemmProblems(w_, inputs_[0], inputs_[1], outputs_[0]);
        gemmBatch(ctx_, problems_);
        break;
      case Kind::Gemv:
        gemv(ctx_, GemvProblem{w_.m, w_.n, inputs_[0], inputs_[1], outputs_[0], w_.trans, w_.dtype == Dtype::F16});
        break;
      case Kind::VjpLinearMap:
      case Kind::VjpLinearLayer:
        vjp(ctx_, w_, inputs_.data(), outputs_.data());
        break;
      case Kind::Launch:
        launch(*ctx_.pool, static_cast<float*>(outputs_[0]));
        break;
    }
  }

  WorkloadSpec w_;
  CpuContext ctx_{};
  std::map<std::string, AlignedBuffer> buffers_;
  std::vector<AlignedBuffer*> order_;
  std::vector<void*> inputs_, outputs_;
  std::vector<GemmProblem> problems_;
  bool coldPaidPoolStart_ = false;
  bool disposed_ = false;
};

}  // namespace

CpuDescription describe(const CpuOptions& options) {
  CpuDescription d;
  d.model = cpuModel();
  d.threads = ThreadPool::globalStarted() ? ThreadPool::global().size() : ThreadPool::configuredSize();
  const CpuKernels& k = selectKernels(options.isa);
  d.isa = k.isa;
  d.features = cpuFeatures();
  const SystemBlas& sys = systemBlas();
  d.systemBlasAvailable = sys.available();
  d.systemBlas = sys.detail;
  const SystemBlas* chosen = chooseBlas(options.blas);
  d.gemm = chosen ? chosen->name : std::string("own-") + k.isa;
  d.memoryBytes = totalMemoryBytes();
  return d;
}

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload, const CpuOptions& options) {
  try {
    return std::make_unique<CpuRunnable>(workload, options);
  } catch (const std::bad_alloc&) {
    throw NativeError("out of memory while preparing the workload's buffers");
  }
}

}  // namespace gpubench::cpu
