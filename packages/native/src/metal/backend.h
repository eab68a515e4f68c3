// The Metal backend's entry points for the N-API layer (plain C++; the Objective-C++ stays in .mm files).
// UNTESTED here: no macOS machine in reach; built and run by .github/workflows/macos-native.yml.
#pragma once

#include <memory>
#include <string>

#include "../common/runnable.h"
#include "../common/train.h"

namespace gpubench::metal {

struct MetalProbe {
  bool available = false;
  std::string reason;
  std::string name;
  double memoryBytes = 0;
  bool unifiedMemory = false;
};

MetalProbe probe();

std::unique_ptr<DeviceRunnable> prepare(const WorkloadSpec& workload);

/** The training step (metal/train.mm): MPS for the products, MSL for the rest; command-buffer times per phase. */
std::unique_ptr<TrainSession> prepareTraining(const TrainConfig& config);

}  // namespace gpubench::metal
