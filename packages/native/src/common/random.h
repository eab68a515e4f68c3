// Benchmark inputs: uniform values in [-1, 1), so timings never run on zeros or denormals.
// (Verification does not use these: it uploads core's own seeded inputs.)
#pragma once

#include <cstdint>

#include "f16.h"

namespace gpubench {

/** splitmix64: small and fast; the statistical quality needed here is modest. */
struct SplitMix {
  uint64_t state;
  explicit SplitMix(uint64_t seed) : state(seed) {}
  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
  }
  float uniform() { return (float)((next() >> 40) * (1.0 / 16777216.0) * 2.0 - 1.0); }
};

inline void fillRandom(void* data, int64_t length, bool f16, uint64_t seed) {
  SplitMix rng(seed);
  if (f16) {
    auto* p = static_cast<uint16_t*>(data);
    for (int64_t i = 0; i < length; i++) p[i] = f32ToF16(rng.uniform());
  } else {
    auto* p = static_cast<float*>(data);
    for (int64_t i = 0; i < length; i++) p[i] = rng.uniform();
  }
}

}  // namespace gpubench
