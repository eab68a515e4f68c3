// A workload as the native side sees it: the same kinds, fields and buffer layouts as
// packages/core/src/workloads.ts and reference.ts (row-major, batch outermost). The TypeScript
// side validates workloads before they reach here; this header re-checks only what memory safety
// depends on (positive sizes, element counts that fit), so a bad call cannot write out of bounds.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gpubench {

enum class Kind { Gemm, Gemv, VjpLinearMap, VjpLinearLayer, Launch };
enum class Dtype { F32, F16 };

/** An error whose message is meant for the user as is (the TypeScript side adds workload and device). */
struct NativeError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

struct BufferSpec {
  std::string name;
  int64_t length;  // elements
  bool output;
};

struct WorkloadSpec {
  Kind kind = Kind::Launch;
  Dtype dtype = Dtype::F32;
  int64_t batch = 1, m = 1, n = 1, k = 1;
  bool transA = false, transB = false, trans = false;
  int64_t inFeatures = 1, outFeatures = 1;
  int64_t launchesPerSample = 100;

  /** Bytes per element of every buffer (the launch flag is f32). */
  int64_t elementBytes() const { return dtype == Dtype::F16 && kind != Kind::Launch ? 2 : 4; }

  /** Inputs then outputs, in the order and with the names core's buffersOf() gives. */
  std::vector<BufferSpec> buffers() const {
    switch (kind) {
      case Kind::Gemm:
        return {{"A", batch * m * k, false}, {"B", batch * k * n, false}, {"C", batch * m * n, true}};
      case Kind::Gemv:
        return {{"A", m * n, false}, {"x", trans ? m : n, false}, {"y", trans ? n : m, true}};
      case Kind::VjpLinearMap:
        return {{"A", m * n, false}, {"v", m, false}, {"out", n, true}};
      case Kind::VjpLinearLayer:
        return {{"X", batch * inFeatures, false},
                {"W", inFeatures * outFeatures, false},
                {"dY", batch * outFeatures, false},
                {"dX", batch * inFeatures, true},
                {"dW", inFeatures * outFeatures, true}};
      case Kind::Launch:
        return {{"flag", 1, true}};
    }
    return {};
  }

  int64_t totalBytes() const {
    int64_t total = 0;
    for (const auto& b : buffers()) total += b.length * elementBytes();
    return total;
  }
};

/** Formats a byte count for messages: "25.7 GB". */
inline std::string formatBytes(double bytes) {
  const char* units[] = {"B", "kB", "MB", "GB", "TB"};
  int u = 0;
  while (bytes >= 1000 && u < 4) {
    bytes /= 1000;
    u++;
  }
  char text[32];
  snprintf(text, sizeof text, u == 0 ? "%.0f %s" : "%.1f %s", bytes, units[u]);
  return text;
}

}  // namespace gpubench
