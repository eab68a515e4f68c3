// A training step of a GPT-2-shaped model on the CPU backend's kernels: the model, its
// conventions and its parameter layout are core's (packages/core/src/train/workload.ts); this is
// the same step, in f32, on the CPU's GEMM (system BLAS or own) and thread pool, with the kernels
// a step needs beyond GEMM in train.cpp. With f16, mixed precision as PyTorch's autocast with a
// GradScaler: every product takes f16 operands (the own f16 GEMM, f32 accumulation, f16 result),
// master weights, AdamW state and element-wise kernels stay f32, and the loss is scaled, with a
// step whose gradients overflow skipped and the scale halved.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "context.h"

namespace gpubench::cpu {

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

/** One timed step; page faults are the process's during the step (getrusage), RSS after it. */
struct TrainStepTimes {
  double stepNs = 0, forwardNs = 0, backwardNs = 0, optimizerNs = 0;
  double loss = 0;
  double rssBytes = 0, minorFaults = 0, majorFaults = 0;
  /** The loss scale the step ran with (1 for f32), and whether its update was skipped for an overflow. */
  double lossScale = 1;
  bool skipped = false;
};

class TrainSession {
 public:
  virtual ~TrainSession() = default;
  virtual int64_t parameterCount() const = 0;
  /** Copies f32 master weights in, zeroes AdamW's moments, restarts the step count. */
  virtual void setParameters(const float* data, int64_t count) = 0;
  /** batch x (seq + 1) token ids, each checked to be below the vocabulary. */
  virtual void setTokens(const int32_t* data, int64_t count) = 0;
  virtual void poisonGradients() = 0;
  /** Forward and backward, no update; returns the loss. */
  virtual double forwardBackward() = 0;
  virtual void optimizerStep() = 0;
  virtual std::vector<TrainStepTimes> steps(int n) = 0;
  /** The flat buffers, in core's parameter layout: "parameters", "gradients", "m", "v". */
  virtual float* buffer(const std::string& name) = 0;
  virtual std::vector<std::string> notes() const = 0;
};

/** Process-wide peak resident set size in bytes (getrusage's ru_maxrss), 0 where unknown. */
double peakRssBytes();

std::unique_ptr<TrainSession> prepareTraining(const TrainConfig& config, const CpuOptions& options);

}  // namespace gpubench::cpu
