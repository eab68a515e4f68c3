#include "cpu_features.h"

#include <fstream>

#include "../common/spec.h"

#if defined(__APPLE__)
#include <sys/sysctl.h>
#endif

namespace gpubench::cpu {

namespace {
bool hasAvx2Fma() {
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  // The builtin checks CPUID and that the OS saves the ymm registers (XCR0).
  return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") && __builtin_cpu_supports("f16c");
#else
  return false;
#endif
}
}  // namespace

std::vector<std::string> cpuFeatures() {
  std::vector<std::string> out;
#if (defined(__x86_64__) || defined(_M_X64)) && (defined(__GNUC__) || defined(__clang__))
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx2")) out.push_back("avx2");
  if (__builtin_cpu_supports("fma")) out.push_back("fma");
  if (__builtin_cpu_supports("f16c")) out.push_back("f16c");
  if (__builtin_cpu_supports("avx512f")) out.push_back("avx512f");
#elif defined(__aarch64__) || defined(_M_ARM64)
  out.push_back("neon");
#endif
  return out;
}

const CpuKernels& selectKernels(const std::string& isa) {
  if (isa == "portable") return *portableKernels();
  if (isa != "auto") throw NativeError("cpu option 'isa' must be 'auto' or 'portable', got '" + isa + "'");
  if (const CpuKernels* k = avx2Kernels(); k && hasAvx2Fma()) return *k;
  if (const CpuKernels* k = neonKernels()) return *k;
  return *portableKernels();
}

std::string cpuModel() {
#if defined(__APPLE__)
  char name[256] = {0};
  size_t size = sizeof name;
  if (sysctlbyname("machdep.cpu.brand_string", name, &size, nullptr, 0) == 0) return name;
  return "";
#else
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0 || line.rfind("Model", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) {
        auto value = line.substr(colon + 1);
        auto start = value.find_first_not_of(" \t");
        return start == std::string::npos ? "" : value.substr(start);
      }
    }
  }
  return "";
#endif
}

}  // namespace gpubench::cpu
