// The CPU backend's clock: std::chrono::steady_clock (monotonic), read in ns. Its resolution on
// Linux and macOS is well under a microsecond, far below the shortest sample the engine keeps.
#pragma once

#include <chrono>

namespace gpubench::cpu {

inline double nowNs() {
  return (double)std::chrono::duration_cast<std::chrono::nanoseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace gpubench::cpu
