// The training step as every native backend implements it: the configuration (core's
// TrainWorkload, packages/core/src/train/workload.ts), one timed step's record, and the session
// the N-API class (train-addon.h) drives. Parameters are f32 in core's flat layout on every
// backend; where they live (host memory, device memory) is the backend's affair, so buffers are
// copied in and out by name.
#pragma once

#include <sys/resource.h>

#include <cstdint>
#include <limits>
#include <string>
#include <utility>
#include <vector>

#include "spec.h"

namespace gpubench {

struct TrainConfig {
  int64_t layers = 0, dModel = 0, heads = 0, mlp = 0, vocab = 0, positions = 0;
  int64_t batch = 0, seq = 0;
  bool f16 = false;
  /** Doubles, so that 1 − β is exact before it is rounded to f32 (1 − 0.999f is 1.3e-5 off). */
  double learningRate = 1e-3, beta1 = 0.9, beta2 = 0.999, epsilon = 1e-8, weightDecay = 0.01;
  /** Mixed precision's loss scale at the first step. */
  double initialLossScale = 4096;
  /** Tests only: flips the sign of one kernel's backward output (core's TRAIN_FAULTS); empty for none. */
  std::string fault;
};

/**
 * One timed step. Host figures (RSS, page faults) are the process's; device memory is NaN where
 * the backend has none of its own, and energy NaN where the backend does not read it per step.
 */
struct TrainStepTimes {
  double stepNs = 0, forwardNs = 0, backwardNs = 0, optimizerNs = 0;
  double loss = 0;
  double rssBytes = 0, minorFaults = 0, majorFaults = 0;
  /** The loss scale the step ran with (1 for f32), and whether its update was skipped for an overflow. */
  double lossScale = 1;
  bool skipped = false;
  /** Device memory in use after the step (the whole device's, as the driver reports it), in bytes. */
  double deviceBytes = std::numeric_limits<double>::quiet_NaN();
  double energyJoules = std::numeric_limits<double>::quiet_NaN();
};

/** Buffers in core's parameter layout, by name: "parameters", "gradients", "m", "v". */
class TrainSession {
 public:
  virtual ~TrainSession() = default;
  virtual int64_t parameterCount() const = 0;
  /** Copies f32 master weights in, zeroes AdamW's moments, restarts the step count and the loss scale. */
  virtual void setParameters(const float* data, int64_t count) = 0;
  /** Overwrites the gradients (to test the optimizer alone). */
  virtual void setGradients(const float* data, int64_t count) = 0;
  /** Copies a buffer out; `count` is the parameter count. */
  virtual void read(const std::string& name, float* out, int64_t count) = 0;
  /** batch x (seq + 1) token ids, each checked to be below the vocabulary. */
  virtual void setTokens(const int32_t* data, int64_t count) = 0;
  virtual void poisonGradients() = 0;
  /** Forward and backward, no update; returns the loss. */
  virtual double forwardBackward() = 0;
  virtual void optimizerStep() = 0;
  virtual std::vector<TrainStepTimes> steps(int n) = 0;
  virtual std::vector<std::string> notes() const = 0;
  /** Where per-step energy comes from ("reported (...)"), or "unavailable: why"; "" when the caller reads it itself. */
  virtual std::string energySource() const { return ""; }
  /** The most device memory the session has seen in use (bytes); NaN without a device of its own. */
  virtual double peakDeviceBytes() const { return std::numeric_limits<double>::quiet_NaN(); }
};

/** The process's resident set size now (/proc/self/statm; NaN where unknown) and its peak (getrusage; 0 where unknown),
 * in bytes. Defined in cpu/train.cpp. */
double currentRssBytes();
double peakRssBytes();

/** The kernel whose backward a test flips (core's TRAIN_FAULTS). */
enum class TrainFault {
  None,
  CrossEntropy,
  Head,
  LayerNorm,
  LinearInput,
  LinearWeight,
  Bias,
  Attention,
  Softmax,
  Gelu,
  Embedding
};

inline TrainFault trainFaultFrom(const std::string& name) {
  static const std::pair<const char*, TrainFault> names[] = {{"cross-entropy", TrainFault::CrossEntropy},
                                                             {"head", TrainFault::Head},
                                                             {"layernorm", TrainFault::LayerNorm},
                                                             {"linear-input", TrainFault::LinearInput},
                                                             {"linear-weight", TrainFault::LinearWeight},
                                                             {"bias", TrainFault::Bias},
                                                             {"attention", TrainFault::Attention},
                                                             {"softmax", TrainFault::Softmax},
                                                             {"gelu", TrainFault::Gelu},
                                                             {"embedding", TrainFault::Embedding}};
  if (name.empty()) return TrainFault::None;
  for (const auto& [n, f] : names)
    if (name == n) return f;
  throw NativeError("unknown training fault '" + name + "'");
}

/** Checks what every backend's buffers depend on; throws naming the field. */
inline void checkTrainConfig(const TrainConfig& c) {
  if (c.dModel % c.heads != 0) throw NativeError("dModel must be a multiple of heads");
  if (c.seq > c.positions) throw NativeError("seq exceeds the model's positions");
}

/** Splits batch x (seq + 1) token ids into inputs and next-token targets (batch x seq each), checking each against the
 * vocabulary. */
inline void splitTokens(const TrainConfig& c, const int32_t* data, int64_t count, int32_t* inputs, int32_t* targets) {
  const int64_t T = c.seq;
  if (count != c.batch * (T + 1))
    throw NativeError("expected batch x (seq + 1) = " + std::to_string(c.batch * (T + 1)) + " tokens, got " +
                      std::to_string(count));
  for (int64_t i = 0; i < count; i++)
    if (data[i] < 0 || data[i] >= c.vocab)
      throw NativeError("token " + std::to_string(i) + " is " + std::to_string(data[i]) +
                        ", outside the vocabulary of " + std::to_string(c.vocab));
  for (int64_t b = 0; b < c.batch; b++)
    for (int64_t t = 0; t < T; t++) {
      inputs[b * T + t] = data[b * (T + 1) + t];
      targets[b * T + t] = data[b * (T + 1) + t + 1];
    }
}

/**
 * Mixed precision's loss scale, with PyTorch GradScaler's rule: a step whose scaled gradients
 * overflowed is skipped and halves the scale (not below 1); 2000 good steps in a row double it.
 */
struct LossScaler {
  static constexpr int kGrowthInterval = 2000;
  float scale = 1;
  int goodSteps = 0;
  int64_t skippedSteps = 0;

  void reset(double initial) {
    scale = (float)initial;
    goodSteps = 0;
  }
  /** After a backward: whether its update must be skipped (and the scale is updated either way). */
  bool afterBackward(bool overflowed) {
    if (overflowed) {
      scale = scale * 0.5f > 1.0f ? scale * 0.5f : 1.0f;
      goodSteps = 0;
      skippedSteps++;
      return true;
    }
    if (++goodSteps >= kGrowthInterval) {
      scale *= 2.0f;
      goodSteps = 0;
    }
    return false;
  }
};

constexpr float kLayerNormEpsilon = 1e-5f;
constexpr float kGeluC = 0.7978845608028654f;  // √(2/π)

/** The process's page faults during a step (getrusage) and its RSS after it: TrainStepTimes' host figures. */
class HostStepCounters {
 public:
  void begin() { getrusage(RUSAGE_SELF, &before_); }
  void end(TrainStepTimes& s) const {
    rusage after{};
    getrusage(RUSAGE_SELF, &after);
    s.minorFaults = (double)(after.ru_minflt - before_.ru_minflt);
    s.majorFaults = (double)(after.ru_majflt - before_.ru_majflt);
    s.rssBytes = currentRssBytes();
  }

 private:
  rusage before_{};
};

/** What every backend's session starts from: its configuration (checked), its fault, mixed precision's scaler. */
class TrainSessionBase : public TrainSession {
 public:
  /** n timed steps: the backend's timedStep, with the process's page faults and RSS around each. */
  std::vector<TrainStepTimes> steps(int n) override {
    std::vector<TrainStepTimes> out;
    out.reserve((size_t)n);
    for (int i = 0; i < n; i++) {
      HostStepCounters host;
      host.begin();
      TrainStepTimes s = timedStep();
      host.end(s);
      out.push_back(s);
    }
    return out;
  }

 protected:
  explicit TrainSessionBase(const TrainConfig& c) : c_(c), fault_(trainFaultFrom(c.fault)), f16_(c.f16) {
    checkTrainConfig(c);
    scaler_.reset(c.initialLossScale);
  }

  /** One step (forward, backward, the update unless mixed precision skips it): phases timed, loss and scale set. */
  virtual TrainStepTimes timedStep() = 0;

  /** -1 for the kernel whose backward a test flips, else 1. */
  float signFor(TrainFault kernel) const { return fault_ == kernel ? -1.0f : 1.0f; }

  TrainConfig c_;
  TrainFault fault_;
  bool f16_;
  LossScaler scaler_;
};

}  // namespace gpubench
