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

#include "../common/train.h"
#include "context.h"

namespace gpubench::cpu {

std::unique_ptr<TrainSession> prepareTraining(const TrainConfig& config, const CpuOptions& options);

}  // namespace gpubench::cpu
