// How a GPU runnable times a workload, decided once from a warm-up estimate (pure functions; tests
// in test/cuda-host.test.ts through the addon). Shared by the CUDA and Metal runnables.
//
//  - Warm-up is time-based: at least kWarmupNs of back-to-back runs before the first sample, and
//    again after kRewarmAfterIdleNs without runs, so clocks have settled (two runs of a 5 µs kernel
//    settle nothing).
//  - Short runs are timed kTargetNsPerSample at a time: r back-to-back runs between one pair of
//    timestamps (CUDA events, a Metal command buffer), the sample being the time / r. One pair per
//    2 µs run would include the host's launch gap and the events' ~0.5 µs resolution.
//  - Caches: a sample of one run gets the L2 flushed before it, outside the timed span; samples of
//    several back-to-back runs cannot, and are labelled cache-resident when the working set fits.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>

#include "spec.h"

namespace gpubench {

constexpr double kWarmupNs = 100e6;
constexpr double kRewarmAfterIdleNs = 1e9;
constexpr double kTargetNsPerSample = 100e3;
constexpr int64_t kMaxRunsPerSample = 1000;

/** Whether to warm up before the next samples: never ran (lastRunEndNs < 0), or idle for longer than
 * kRewarmAfterIdleNs. */
inline bool needsWarmup(double lastRunEndNs, double nowNs) {
  return lastRunEndNs < 0 || nowNs - lastRunEndNs > kRewarmAfterIdleNs;
}

/** Back-to-back runs per timed sample for runs of about `estimatedNsPerRun`: enough for
 * kTargetNsPerSample, 1..kMaxRunsPerSample. */
inline int64_t runsPerSample(double estimatedNsPerRun) {
  if (!(estimatedNsPerRun > 0) || estimatedNsPerRun >= kTargetNsPerSample) return 1;
  return std::clamp<int64_t>((int64_t)std::ceil(kTargetNsPerSample / estimatedNsPerRun), 1, kMaxRunsPerSample);
}

struct TimingPlan {
  int64_t runsPerSample = 1;
  /** Flush the L2 (a write of flushBytes) before each sample, outside the timed span. */
  bool flushL2 = false;
  /** What the samples say about caches, for the runnable's notes. */
  std::string cache;
};

/**
 * The plan for samples of `runs` back-to-back runs touching `workingSetBytes`, on a device whose
 * last level cache holds `cacheBytes` (0: unknown), where a flush is possible when `canFlush`.
 */
inline TimingPlan planTimingFor(int64_t runs, double workingSetBytes, double cacheBytes, bool canFlush) {
  TimingPlan p;
  p.runsPerSample = std::clamp<int64_t>(runs, 1, kMaxRunsPerSample);
  const std::string ws = formatBytes(workingSetBytes);
  const std::string cache = cacheBytes > 0 ? "the " + formatBytes(cacheBytes) + " L2" : "the caches (size unknown)";
  if (p.runsPerSample == 1) {
    p.flushL2 = canFlush && cacheBytes > 0;
    p.cache = p.flushL2 ? "L2 flushed before each sample, outside the timed span (working set " + ws + ")"
                        : "caches not flushed between samples: a working set of " + ws +
                              (cacheBytes > 0 && workingSetBytes <= cacheBytes ? " fits " + cache + ": cache-resident"
                                                                               : " may stay partly in " + cache);
  } else {
    const std::string runs = std::to_string(p.runsPerSample) + " back-to-back runs per sample";
    p.cache = cacheBytes > 0 && workingSetBytes <= cacheBytes
                  ? "cache-resident: " + runs + ", working set " + ws + " fits " + cache
                  : "caches not flushed between the " + runs + "; working set " + ws +
                        (cacheBytes > 0 ? " exceeds " + cache : " vs " + cache);
  }
  return p;
}

/** The plan for runs of about `estimatedNsPerRun` (runsPerSample decides how many per sample). */
inline TimingPlan planTiming(double estimatedNsPerRun, double workingSetBytes, double cacheBytes, bool canFlush) {
  return planTimingFor(runsPerSample(estimatedNsPerRun), workingSetBytes, cacheBytes, canFlush);
}

}  // namespace gpubench
