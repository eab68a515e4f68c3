// The one interface every native backend implements for a prepared workload. It owns the
// workload's buffers (host or device memory) from construction to dispose(); the N-API layer
// (addon.cpp) and the TypeScript adapter never see device pointers.
#pragma once

#include <string>
#include <vector>

#include "spec.h"

namespace gpubench {

class DeviceRunnable {
 public:
  virtual ~DeviceRunnable() = default;
  /** Copies `bytes` bytes into the named buffer (inputs, and outputs to poison them before a check). */
  virtual void write(const std::string& name, const void* data, size_t bytes) = 0;
  /** Copies the named buffer out. */
  virtual void read(const std::string& name, void* data, size_t bytes) = 0;
  /** The first execution, timed on its own (lazy start-up included). */
  virtual double coldNs() = 0;
  /** n executions, one duration each, in ns (launch: per launch, averaged over launchesPerSample). */
  virtual std::vector<double> runNs(int n) = 0;
  /** Frees everything; idempotent. */
  virtual void dispose() = 0;
  /** What ran and how it was timed: implementation names, energy, host-clock figures. */
  virtual std::vector<std::string> notes() const = 0;
  /** Device energy per execution in joules over the runs the notes name (CUDA: the measurement so far); negative when
   * not reported. */
  virtual double energyJoulesPerRun() const { return -1; }
};

/**
 * The buffer named `name` in a runnable's map of buffers, checked to hold exactly `bytes` (what a
 * write or read of that many bytes needs); `sizeOf(buffer)` gives a buffer's size in bytes.
 */
template <class Map, class SizeOf>
auto& findBuffer(Map& buffers, const std::string& name, size_t bytes, SizeOf sizeOf) {
  auto it = buffers.find(name);
  if (it == buffers.end()) throw NativeError("no buffer named '" + name + "'");
  const size_t holds = sizeOf(it->second);
  if (holds != bytes)
    throw NativeError("buffer '" + name + "' holds " + std::to_string(holds) + " bytes, got " + std::to_string(bytes));
  return it->second;
}

}  // namespace gpubench
