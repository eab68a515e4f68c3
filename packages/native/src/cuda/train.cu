// The training step on CUDA (common/train.h): the CPU's step (cpu/train.cpp) kernel by kernel,
// on device memory. Products run on cuBLAS when it loads (else the own GEMM kernels: tiled f32,
// WMMA for f16), through enqueueGemm; everything else is in this file. With f16, mixed precision
// as the CPU's: f16 operands and results of every product with f32 accumulation, f32 master
// weights, AdamW state, element-wise kernels and attention, a scaled loss, and a step whose
// gradients overflow skipped on the device (AdamW reads the overflow flag), the scale halved.
//
// Timing: CUDA events around each phase (forward, backward, optimizer); the stream is
// synchronised once per step, after the optimizer, to read the loss and the overflow flag (as
// PyTorch's GradScaler reads its found-inf flag). Device memory in use is the driver's count
// (cudaMemGetInfo) after each step; energy comes from NVML's total-energy counter read around each
// steps(n) call and spread evenly over its steps. The kernels here add up in a fixed order (no
// float atomics), so the step's own arithmetic gives the same bits on every run.
//
// Compiled here with nvcc; it runs only where a GPU is present (test/gpu-train.test.ts).
#include <cuda_fp16.h>
#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "../common/train.h"
#include "../common/train_step.h"
#include "backend.h"
#include "check.h"
#include "context.h"
#include "cublas.h"
#include "nvml.h"
#include "timer.h"

namespace gpubench::cuda {

int selectedDevice();
std::string pciBusIdOf(int device);

namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float warpSum(float v) {
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warpMax(float v) {
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

/** The sum over the block (blockDim.x a multiple of 32, at most 1024); every thread gets it. */
__device__ float blockSum(float v, float* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warpSum(v);
  __syncthreads();  // `shared` may still be read from an earlier call
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : 0.0f;
  return warpSum(v);
}

__device__ float blockMax(float v, float* shared) {
  const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, warps = blockDim.x / 32;
  v = warpMax(v);
  __syncthreads();
  if (lane == 0) shared[warp] = v;
  __syncthreads();
  v = lane < warps ? shared[lane] : -INFINITY;
  return warpMax(v);
}

#define GRID_STRIDE(i, n) \
  for (int64_t i = (int64_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); i += (int64_t)gridDim.x * blockDim.x)

__global__ void encoderKernel(float* out, const int32_t* inputs, const float* wte, const float* wpe, int64_t N,
                              int64_t T, int64_t d) {
  GRID_STRIDE(e, N * d) {
    const int64_t n = e / d, i = e % d;
    out[e] = wte[(int64_t)inputs[n] * d + i] + wpe[(n % T) * d + i];
  }
}

/** One warp per row: mean, then variance about it (two passes, as the CPU). */
__global__ void layerNormKernel(float* out, float* mean, float* rstd, const float* x, const float* g, const float* b,
                                int64_t N, int64_t d) {
  const int64_t row = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (row >= N) return;
  const float* xr = x + row * d;
  float s = 0;
  for (int64_t i = lane; i < d; i += 32) s += xr[i];
  const float mu = warpSum(s) / (float)d;
  float v = 0;
  for (int64_t i = lane; i < d; i += 32) v += (xr[i] - mu) * (xr[i] - mu);
  const float rs = 1.0f / sqrtf(warpSum(v) / (float)d + kLayerNormEpsilon);
  if (lane == 0) mean[row] = mu, rstd[row] = rs;
  for (int64_t i = lane; i < d; i += 32) out[row * d + i] = (xr[i] - mu) * rs * g[i] + b[i];
}

/** dx += the input's gradient, one warp per row. */
__global__ void layerNormBackwardKernel(float* dx, const float* dout, const float* x, const float* mean,
                                        const float* rstd, const float* g, int64_t N, int64_t d, float sign) {
  const int64_t n = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (n >= N) return;
  const float mu = mean[n], rs = rstd[n];
  const float* xr = x + n * d;
  const float* dr = dout + n * d;
  float meanDxhat = 0, meanDxhatXhat = 0;
  for (int64_t i = lane; i < d; i += 32) {
    const float xhat = (xr[i] - mu) * rs;
    const float dxhat = dr[i] * g[i];
    meanDxhat += dxhat;
    meanDxhatXhat += dxhat * xhat;
  }
  meanDxhat = warpSum(meanDxhat) / (float)d;
  meanDxhatXhat = warpSum(meanDxhatXhat) / (float)d;
  for (int64_t i = lane; i < d; i += 32) {
    const float xhat = (xr[i] - mu) * rs;
    dx[n * d + i] += sign * rs * (dr[i] * g[i] - meanDxhat - xhat * meanDxhatXhat);
  }
}

/**
 * The scale's and shift's gradients, dg[i] = Σ_n dout[n][i]·x̂[n][i] and db[i] = Σ_n dout[n][i]:
 * 32 columns per block, 8 row lanes added in a fixed order, so every run gives the same bits.
 */
__global__ void layerNormParamsKernel(float* dg, float* db, const float* dout, const float* x, const float* mean,
                                      const float* rstd, int64_t N, int64_t d) {
  __shared__ float sg[8][33];
  __shared__ float sb[8][33];
  const int64_t i = (int64_t)blockIdx.x * 32 + threadIdx.x;
  float a = 0, b = 0;
  if (i < d)
    for (int64_t n = threadIdx.y; n < N; n += 8) {
      const float dr = dout[n * d + i];
      a += dr * (x[n * d + i] - mean[n]) * rstd[n];
      b += dr;
    }
  sg[threadIdx.y][threadIdx.x] = a;
  sb[threadIdx.y][threadIdx.x] = b;
  __syncthreads();
  if (threadIdx.y == 0 && i < d) {
    float ta = 0, tb = 0;
    for (int r = 0; r < 8; r++) ta += sg[r][threadIdx.x], tb += sb[r][threadIdx.x];
    dg[i] = ta;
    db[i] = tb;
  }
}

/** out[n][o] += b[o] (+ residual[n][o] when given). */
__global__ void addBiasKernel(float* out, const float* b, const float* residual, int64_t N, int64_t O) {
  GRID_STRIDE(e, N * O) out[e] += b[e % O] + (residual ? residual[e] : 0.0f);
}

/** db[o] = sign · Σ_n dout[n][o]: 32 columns per block, 8 row lanes summed in shared memory (deterministic). */
__global__ void columnSumsKernel(float* db, const float* dout, int64_t N, int64_t O, float sign) {
  __shared__ float sums[8][33];
  const int64_t o = (int64_t)blockIdx.x * 32 + threadIdx.x;
  float s = 0;
  if (o < O)
    for (int64_t n = threadIdx.y; n < N; n += 8) s += dout[n * O + o];
  sums[threadIdx.y][threadIdx.x] = s;
  __syncthreads();
  if (threadIdx.y == 0 && o < O) {
    float total = 0;
    for (int r = 0; r < 8; r++) total += sums[r][threadIdx.x];
    db[o] = sign * total;
  }
}

/** Causal softmax of scaled scores in place, one warp per row of B·H·T rows; 0 above the diagonal. */
__global__ void attentionSoftmaxKernel(float* att, int64_t rows, int64_t T, float scale) {
  const int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  const int64_t t = r % T;
  float* row = att + r * T;
  float max = -INFINITY;
  for (int64_t u = lane; u <= t; u += 32) {
    row[u] *= scale;
    max = fmaxf(max, row[u]);
  }
  max = warpMax(max);
  float sum = 0;
  for (int64_t u = lane; u <= t; u += 32) {
    row[u] = expf(row[u] - max);
    sum += row[u];
  }
  const float inv = 1.0f / warpSum(sum);
  for (int64_t u = lane; u <= t; u += 32) row[u] *= inv;
  for (int64_t u = t + 1 + lane; u < T; u += 32) row[u] = 0.0f;
}

/** dS = ss · P ⊙ (sa · dP − Σ P ⊙ sa · dP) · scale in place of dP, causal rows, one warp per row. */
__global__ void attentionSoftmaxBackwardKernel(float* dP, const float* att, int64_t rows, int64_t T, float scale,
                                               float sa, float ss) {
  const int64_t r = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
  const int lane = threadIdx.x % 32;
  if (r >= rows) return;
  const int64_t t = r % T;
  const float* p = att + r * T;
  float* ds = dP + r * T;
  float inner = 0;
  for (int64_t u = lane; u <= t; u += 32) inner += p[u] * ds[u];
  inner = warpSum(inner) * sa;
  for (int64_t u = lane; u <= t; u += 32) ds[u] = ss * p[u] * (sa * ds[u] - inner) * scale;
  for (int64_t u = t + 1 + lane; u < T; u += 32) ds[u] = 0.0f;
}

__device__ __forceinline__ float geluTanh(float v) { return tanhf(kGeluC * (v + 0.044715f * v * v * v)); }

__global__ void geluKernel(float* out, const float* x, int64_t n) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    out[i] = 0.5f * v * (1.0f + geluTanh(v));
  }
}

__global__ void geluBackwardKernel(float* dx, const float* dout, const float* x, int64_t n, float sign) {
  GRID_STRIDE(i, n) {
    const float v = x[i];
    const float th = geluTanh(v);
    const float grad = 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * kGeluC * (1.0f + 3.0f * 0.044715f * v * v);
    dx[i] = sign * grad * dout[i];
  }
}

/** Softmax of each logits row in place (the probabilities are kept for backward) and −log p[target] per row; a block
 * per row. */
__global__ void crossEntropyKernel(float* logits, float* losses, const int32_t* targets, int64_t V) {
  __shared__ float shared[32];
  float* row = logits + (int64_t)blockIdx.x * V;
  float max = -INFINITY;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) max = fmaxf(max, row[v]);
  max = blockMax(max, shared);
  float sum = 0;
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) {
    row[v] = expf(row[v] - max);
    sum += row[v];
  }
  const float inv = 1.0f / blockSum(sum, shared);
  for (int64_t v = threadIdx.x; v < V; v += blockDim.x) row[v] *= inv;
  __syncthreads();
  if (threadIdx.x == 0) losses[blockIdx.x] = -logf(row[targets[blockIdx.x]]);
}

/** dlogits = (probs − onehot) · scale, in place of the probabilities. */
__global__ void crossEntropyBackwardKernel(float* logits, const int32_t* targets, int64_t N, int64_t V, float scale) {
  GRID_STRIDE(e, N * V) {
    const int64_t n = e / V, v = e % V;
    logits[e] = (logits[e] - (v == targets[n] ? 1.0f : 0.0f)) * scale;
  }
}

/**
 * Adds the input's gradient into the token's row of wte: one thread per column, over the positions
 * in order, so that rows of repeated tokens add up the same way every run (no atomics).
 */
__global__ void embeddingTokensKernel(float* dwte, const float* dres, const int32_t* inputs, int64_t N, int64_t d,
                                      float sign) {
  GRID_STRIDE(i, d) {
    for (int64_t n = 0; n < N; n++) dwte[(int64_t)inputs[n] * d + i] += sign * dres[n * d + i];
  }
}

/** dwpe[t][i] = Σ_b dres[b·T + t][i] for the positions t < T of the batch (the later rows are zeroed by the caller). */
__global__ void embeddingPositionsKernel(float* dwpe, const float* dres, int64_t B, int64_t T, int64_t d, float sign) {
  GRID_STRIDE(e, T * d) {
    const int64_t t = e / d, i = e % d;
    float s = 0;
    for (int64_t b = 0; b < B; b++) s += sign * dres[(b * T + t) * d + i];
    dwpe[e] = s;
  }
}

/** x[r][col0 + c] = −x[r][col0 + c] for c < cols, rows with stride ld (the tests' faults). */
__global__ void negateKernel(float* x, int64_t rows, int64_t ld, int64_t col0, int64_t cols) {
  GRID_STRIDE(e, rows * cols) x[(e / cols) * ld + col0 + e % cols] *= -1.0f;
}

/** Divides the scaled gradients by the loss scale; any non-finite one sets the overflow flag. */
__global__ void unscaleKernel(float* g, int64_t n, float inv, int* overflow) {
  GRID_STRIDE(i, n) {
    if (!isfinite(g[i])) *overflow = 1;
    g[i] *= inv;
  }
}

struct AdamWConstants {
  float b1, b2, a1, a2, lr, eps, wd, c1, c2;
};

/** AdamW as core's referenceAdamW; does nothing when the overflow flag is set (the step is skipped). */
__global__ void adamwKernel(float* p, const float* g, float* m, float* v, int64_t n, AdamWConstants k,
                            const int* overflow) {
  if (*overflow) return;
  GRID_STRIDE(i, n) {
    const float mi = k.b1 * m[i] + k.a1 * g[i];
    const float vi = k.b2 * v[i] + k.a2 * g[i] * g[i];
    m[i] = mi;
    v[i] = vi;
    p[i] -= k.lr * ((mi / k.c1) / (sqrtf(vi / k.c2) + k.eps) + k.wd * p[i]);
  }
}

__global__ void toHalfKernel(__half* out, const float* in, int64_t n) {
  GRID_STRIDE(i, n) out[i] = __float2half_rn(in[i]);
}

__global__ void toFloatKernel(float* out, const __half* in, int64_t n) {
  GRID_STRIDE(i, n) out[i] = __half2float(in[i]);
}

/**
 * One row-major product C = op(A)·op(B), its strides and transposes spelt as the CPU's GemmProblem
 * spells them: a GemmDesc of batch 1 (perHead batches it over the heads).
 */
struct Product {
  Product(int64_t m, int64_t n, int64_t k, const void* A, int64_t rsA, int64_t csA, const void* B, int64_t rsB,
          int64_t csB, void* C, int64_t ldc, bool transA, bool transB)
      : desc{(int)m, (int)n, (int)k, 1, A, rsA, csA, 0, B, rsB, csB, 0, C, ldc, 0, false},
        transA(transA),
        transB(transB) {}
  GemmDesc desc;
  bool transA, transB;
};

class CudaTrainSession final : public TrainSessionBase {
 public:
  CudaTrainSession(const TrainConfig& c, const CudaOptions& options) : TrainSessionBase(c) {
    device_ = selectedDevice();
    check(cudaSetDevice(device_), "cudaSetDevice");
    cudaDeviceProp prop{};
    check(cudaGetDeviceProperties(&prop, device_), "cudaGetDeviceProperties");
    deviceName_ = prop.name;
    smCount_ = prop.multiProcessorCount;
    layout();
    size_t freeBytes = 0, totalBytes = 0;
    check(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
    if ((double)allocationBytes_ > (double)freeBytes)
      throw NativeError("the training step needs " + formatBytes((double)allocationBytes_) +
                        " of device memory, more than the " + formatBytes((double)freeBytes) + " free on " +
                        deviceName_);
    try {
      check(cudaStreamCreateWithFlags(&ctx_.stream, cudaStreamNonBlocking), "cudaStreamCreate");
      check(cudaMalloc(&memory_, (size_t)allocationBytes_),
            "cudaMalloc (training step, " + formatBytes((double)allocationBytes_) + ")");
      bind();
      check(cudaMemsetAsync(memory_, 0, (size_t)allocationBytes_, ctx_.stream), "cudaMemsetAsync");
      check(cudaMallocHost(reinterpret_cast<void**>(&hostLosses_), (size_t)(N() * 4 + 4)), "cudaMallocHost");
      hostOverflow_ = reinterpret_cast<int*>(hostLosses_ + N());
      *hostOverflow_ = 0;
      gemmNote_ = setUpGemmOn(ctx_, options.gemm, f16_ ? "WMMA tensor cores" : "tiled f32");
      timer_.reserve(3);
      check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize");
      notePeak();
    } catch (...) {
      release();
      throw;
    }
  }

  ~CudaTrainSession() override { release(); }

  int64_t parameterCount() const override { return count_; }

  void setParameters(const float* data, int64_t count) override {
    upload(params_, data, count, "parameters");
    check(cudaMemsetAsync(m_, 0, (size_t)count_ * 4, ctx_.stream), "cudaMemsetAsync (m)");
    check(cudaMemsetAsync(v_, 0, (size_t)count_ * 4, ctx_.stream), "cudaMemsetAsync (v)");
    sync("setParameters");
    step_ = 0;
    scaler_.reset(c_.initialLossScale);
  }

  void setGradients(const float* data, int64_t count) override { upload(grads_, data, count, "gradients"); }

  void read(const std::string& name, float* out, int64_t count) override {
    if (count != count_)
      throw NativeError("expected " + std::to_string(count_) + " elements, got " + std::to_string(count));
    const float* from = name == "parameters"  ? params_
                        : name == "gradients" ? grads_
                        : name == "m"         ? m_
                        : name == "v"         ? v_
                                              : nullptr;
    if (!from) throw NativeError("no training buffer named '" + name + "'");
    check(cudaMemcpyAsync(out, from, (size_t)count * 4, cudaMemcpyDeviceToHost, ctx_.stream),
          "cudaMemcpyAsync from '" + name + "'");
    sync("read");
  }

  void setTokens(const int32_t* data, int64_t count) override {
    std::vector<int32_t> inputs((size_t)N()), targets((size_t)N());
    splitTokens(c_, data, count, inputs.data(), targets.data());
    check(cudaMemcpyAsync(inputs_, inputs.data(), (size_t)N() * 4, cudaMemcpyHostToDevice, ctx_.stream),
          "cudaMemcpyAsync (inputs)");
    check(cudaMemcpyAsync(targets_, targets.data(), (size_t)N() * 4, cudaMemcpyHostToDevice, ctx_.stream),
          "cudaMemcpyAsync (targets)");
    sync("setTokens");  // before the host vectors go away
    haveTokens_ = true;
  }

  void poisonGradients() override {
    // All bits set is a NaN in f32.
    check(cudaMemsetAsync(grads_, 0xff, (size_t)count_ * 4, ctx_.stream), "cudaMemsetAsync (poison)");
    sync("poisonGradients");
  }

  double forwardBackward() override {
    forward();
    backward();
    sync("forwardBackward");
    return lossOfStep();
  }

  void optimizerStep() override {
    check(cudaMemsetAsync(overflow_, 0, 4, ctx_.stream), "cudaMemsetAsync (overflow flag)");
    adamw();
    sync("optimizerStep");
    step_ += 1;
  }

  /** The base's steps, with NVML's energy counter read around them and spread evenly over them. */
  std::vector<TrainStepTimes> steps(int n) override {
    check(cudaSetDevice(device_), "cudaSetDevice");
    Nvml& nvml = Nvml::forDevice(pciBusIdOf(device_));
    const double energy0 = nvml.energyMillijoules();
    std::vector<TrainStepTimes> out = TrainSessionBase::steps(n);
    const double energy1 = nvml.energyMillijoules();
    if (energy0 >= 0 && energy1 >= energy0)
      for (auto& s : out) s.energyJoules = (energy1 - energy0) / 1e3 / (double)n;
    return out;
  }

  TrainStepTimes timedStep() override {
    TrainStepTimes s;
    s.lossScale = f16_ ? scaler_.scale : 1.0;
    timer_.start(0, ctx_.stream);
    forward();
    timer_.stop(0, ctx_.stream);
    timer_.start(1, ctx_.stream);
    backward();
    timer_.stop(1, ctx_.stream);
    timer_.start(2, ctx_.stream);
    adamw();
    timer_.stop(2, ctx_.stream);
    sync("a training step");
    s.loss = lossOfStep();
    const bool overflowed = f16_ && *hostOverflow_ != 0;
    s.skipped = f16_ && scaler_.afterBackward(overflowed);
    if (!s.skipped) step_ += 1;
    s.forwardNs = timer_.elapsedNs(0);
    s.backwardNs = timer_.elapsedNs(1);
    s.optimizerNs = timer_.elapsedNs(2);
    s.stepNs = s.forwardNs + s.backwardNs + s.optimizerNs;
    s.deviceBytes = notePeak();
    return s;
  }

  std::string energySource() const override {
    const Nvml& nvml = Nvml::forDevice(pciBusIdOf(device_));
    if (nvml.energyMillijoules() < 0) return "unavailable: NVML: " + nvml.detail();
    return "reported (NVML total energy of the whole GPU, read around each call of steps(n) and spread evenly over its "
           "steps)";
  }

  double peakDeviceBytes() const override { return peakDeviceBytes_; }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    out.push_back(std::string("training kernels: ") + (f16_ ? "f16 mixed precision, " : "f32, ") +
                  "own CUDA kernels on " + deviceName_ + "; " + gemmNote_);
    if (f16_)
      out.push_back(
          "mixed precision: f16 operands and results of every product (f32 accumulation), f32 master weights, AdamW "
          "state, element-wise kernels and attention; loss scale now " +
          std::to_string((int64_t)scaler_.scale) + ", " + std::to_string(scaler_.skippedSteps) +
          " steps skipped for overflow so far (the skip is decided on the device)");
    out.push_back(
        "timing: CUDA events around forward, backward and optimizer; the stream is synchronised once per step "
        "to read the loss and the overflow flag");
    out.push_back("device memory: the step's buffers " + formatBytes((double)allocationBytes_) +
                  " in one allocation; in use on " + deviceName_ + " (cudaMemGetInfo, every process's) peak " +
                  formatBytes(peakDeviceBytes_));
    if (fault_ != TrainFault::None) out.push_back("fault injected: " + c_.fault + " (tests only)");
    return out;
  }

  // The kernels, public for the step's structure (common/train_step.h) to call; the class is this file's alone.

  int64_t N() const { return c_.batch * c_.seq; }

  /** A parameter's gradient: the same offset in the gradient buffer. */
  float* grad(const float* p) { return grads_ + (p - params_); }

  /** Offsets of every buffer in the one allocation (256-byte aligned), and its size. */
  void layout() {
    const int64_t N = this->N();
    count_ = TrainBuffers::parameterCount(c_);
    int64_t at = 0;
    auto take = [&](int64_t bytes) {
      const int64_t offset = at;
      at += (bytes + 255) / 256 * 256;
      return offset;
    };
    offParams_ = take(count_ * 4), offGrads_ = take(count_ * 4), offM_ = take(count_ * 4), offV_ = take(count_ * 4);
    offActs_ = take(TrainBuffers::activationFloats(c_) * 4);
    offDatt_ = take(TrainBuffers::attentionFloats(c_) * 4);
    offInputs_ = take(N * 4), offTargets_ = take(N * 4), offOverflow_ = take(4);
    if (f16_) {
      const int64_t largest = TrainBuffers::largestProductOperand(c_);
      offW16_ = take(count_ * 2), offA16_ = take(largest * 2), offB16_ = take(largest * 2), offC16_ = take(largest * 2);
    }
    allocationBytes_ = at;
  }

  /** Points every parameter, activation and scratch buffer into the allocation. */
  void bind() {
    char* base = static_cast<char*>(memory_);
    auto at = [base](int64_t offset) { return base + offset; };
    params_ = reinterpret_cast<float*>(at(offParams_));
    grads_ = reinterpret_cast<float*>(at(offGrads_));
    m_ = reinterpret_cast<float*>(at(offM_));
    v_ = reinterpret_cast<float*>(at(offV_));
    datt_ = reinterpret_cast<float*>(at(offDatt_));
    inputs_ = reinterpret_cast<int32_t*>(at(offInputs_));
    targets_ = reinterpret_cast<int32_t*>(at(offTargets_));
    overflow_ = reinterpret_cast<int*>(at(offOverflow_));
    if (f16_) {
      w16_ = reinterpret_cast<__half*>(at(offW16_));
      a16_ = reinterpret_cast<__half*>(at(offA16_));
      b16_ = reinterpret_cast<__half*>(at(offB16_));
      c16_ = reinterpret_cast<__half*>(at(offC16_));
    }
    b_.bind(c_, params_, reinterpret_cast<float*>(at(offActs_)));
  }

  void release() {
    if (device_ >= 0) cudaSetDevice(device_);
    if (ctx_.stream) cudaStreamSynchronize(ctx_.stream);
    timer_.release();
    if (ctx_.cublasHandle) ctx_.cublas->destroy(ctx_.cublasHandle);
    ctx_.cublasHandle = nullptr;
    if (memory_) cudaFree(memory_);
    memory_ = nullptr;
    if (hostLosses_) cudaFreeHost(hostLosses_);
    hostLosses_ = nullptr;
    hostOverflow_ = nullptr;
    if (ctx_.stream) cudaStreamDestroy(ctx_.stream);
    ctx_.stream = nullptr;
  }

  void sync(const std::string& what) {
    check(cudaStreamSynchronize(ctx_.stream), "cudaStreamSynchronize after " + what);
  }

  void upload(float* to, const float* data, int64_t count, const char* what) {
    if (count != count_)
      throw NativeError("expected " + std::to_string(count_) + " " + what + ", got " + std::to_string(count));
    check(cudaMemcpyAsync(to, data, (size_t)count * 4, cudaMemcpyHostToDevice, ctx_.stream),
          std::string("cudaMemcpyAsync (") + what + ")");
    sync(what);
  }

  /** Device memory in use now (the driver's count, every process's), kept as the peak too. */
  double notePeak() {
    size_t freeBytes = 0, totalBytes = 0;
    check(cudaMemGetInfo(&freeBytes, &totalBytes), "cudaMemGetInfo");
    const double used = (double)(totalBytes - freeBytes);
    peakDeviceBytes_ = std::max(peakDeviceBytes_, used);
    return used;
  }

  /** The mean of the per-row losses the last forward copied to the host (after a sync). */
  double lossOfStep() const {
    double loss = 0;
    for (int64_t n = 0; n < N(); n++) loss += hostLosses_[n];
    return loss / (double)N();
  }

  // ------------------------------------------------------------ launches

  unsigned blocksFor(int64_t n) const {
    return (unsigned)std::max<int64_t>(1, std::min<int64_t>((n + kThreads - 1) / kThreads, (int64_t)smCount_ * 32));
  }
  /** Blocks of kThreads for one warp per row. */
  static unsigned warpBlocks(int64_t rows) { return (unsigned)((rows * 32 + kThreads - 1) / kThreads); }

  void launched(const char* kernel) { check(cudaGetLastError(), std::string(kernel) + " launch"); }

  void negate(float* x, int64_t rows, int64_t ld, int64_t col0, int64_t cols) {
    negateKernel<<<blocksFor(rows * cols), kThreads, 0, ctx_.stream>>>(x, rows, ld, col0, cols);
    launched("negate");
  }

  void product(Product p, bool f16) {
    p.desc.f16 = f16;
    enqueueGemm(ctx_, p.desc, p.transA, p.transB);
  }

  void toHalf(__half* out, const float* in, int64_t n) {
    toHalfKernel<<<blocksFor(n), kThreads, 0, ctx_.stream>>>(out, in, n);
    launched("toHalf");
  }

  /** A weight's f16 copy (refreshed at the start of each forward). */
  const __half* half(const float* W) const { return w16_ + (W - params_); }

  /** C (f32) = op(A)·op(B): f32 directly; f16 through the f16 buffers (A into a16_, B into b16_ unless it is a weight).
   */
  void mixed(Product p, int64_t aElements, int64_t bElements, bool bIsWeight, float* C, int64_t cElements) {
    if (!f16_) {
      p.desc.C = C;
      product(p, false);
      return;
    }
    toHalf(a16_, static_cast<const float*>(p.desc.A), aElements);
    if (bIsWeight) {
      p.desc.B = half(static_cast<const float*>(p.desc.B));
    } else {
      toHalf(b16_, static_cast<const float*>(p.desc.B), bElements);
      p.desc.B = b16_;
    }
    p.desc.A = a16_;
    p.desc.C = c16_;
    product(p, true);
    toFloatKernel<<<blocksFor(cElements), kThreads, 0, ctx_.stream>>>(C, c16_, cElements);
    launched("toFloat");
  }

  /** out (N x O) = x (N x I) · W (I x O). */
  void matmul(float* out, const float* x, const float* W, int64_t N, int64_t I, int64_t O) {
    mixed(Product{N, O, I, x, I, 1, W, O, 1, nullptr, O, false, false}, N * I, 0, true, out, N * O);
  }

  /** dx = dout · Wᵀ; dW = xᵀ · dout; db = column sums of dout. */
  void matmulBackward(float* dx, float* dW, float* db, const float* dout, const float* x, const float* W, int64_t N,
                      int64_t I, int64_t O) {
    mixed(Product{N, I, O, dout, O, 1, W, 1, O, nullptr, I, false, true}, N * O, 0, true, dx, N * I);
    mixed(Product{I, O, N, x, 1, I, dout, O, 1, nullptr, O, true, false}, N * I, N * O, false, dW, I * O);
    if (fault_ == TrainFault::LinearInput) negate(dx, 1, 0, 0, N * I);
    if (fault_ == TrainFault::LinearWeight) negate(dW, 1, 0, 0, I * O);
    columnSumsKernel<<<(unsigned)((O + 31) / 32), dim3(32, 8), 0, ctx_.stream>>>(db, dout, N, O,
                                                                                 signFor(TrainFault::Bias));
    launched("columnSums");
  }

  void addBias(float* out, const float* b, const float* residual, int64_t N, int64_t O) {
    addBiasKernel<<<blocksFor(N * O), kThreads, 0, ctx_.stream>>>(out, b, residual, N, O);
    launched("addBias");
  }

  void gelu(float* out, const float* x, int64_t n) {
    geluKernel<<<blocksFor(n), kThreads, 0, ctx_.stream>>>(out, x, n);
    launched("gelu");
  }

  void geluBackward(float* dx, const float* dout, const float* x, int64_t n) {
    geluBackwardKernel<<<blocksFor(n), kThreads, 0, ctx_.stream>>>(dx, dout, x, n, signFor(TrainFault::Gelu));
    launched("geluBackward");
  }

  void layerNorm(float* out, float* mean, float* rstd, const float* x, const float* g, const float* b) {
    layerNormKernel<<<warpBlocks(N()), kThreads, 0, ctx_.stream>>>(out, mean, rstd, x, g, b, N(), c_.dModel);
    launched("layerNorm");
  }

  void layerNormBackward(float* dx, float* dg, float* db, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* g) {
    const int64_t d = c_.dModel;
    layerNormBackwardKernel<<<warpBlocks(N()), kThreads, 0, ctx_.stream>>>(dx, dout, x, mean, rstd, g, N(), d,
                                                                           signFor(TrainFault::LayerNorm));
    launched("layerNormBackward");
    layerNormParamsKernel<<<(unsigned)((d + 31) / 32), dim3(32, 8), 0, ctx_.stream>>>(dg, db, dout, x, mean, rstd, N(),
                                                                                      d);
    launched("layerNormParams");
  }

  /** One batched product per batch entry b over its H heads (head h's columns are hs apart; its T x T block T·T). */
  template <class Make>
  void perHead(const Make& make) {
    const int64_t H = c_.heads;
    for (int64_t b = 0; b < c_.batch; b++) {
      const auto [p, strideA, strideB, strideC] = make(b);
      GemmDesc desc = p.desc;
      desc.batch = (int)H;
      desc.strideA = strideA, desc.strideB = strideB, desc.strideC = strideC;
      enqueueGemm(ctx_, desc, p.transA, p.transB);
    }
  }

  struct HeadProducts {
    Product p;
    int64_t strideA, strideB, strideC;
  };

  void attention(float* out, float* att, const float* qkv) {
    const int64_t B = c_.batch, T = c_.seq, d = c_.dModel, H = c_.heads, hs = d / H, TT = T * T;
    // S = Q·Kᵀ per head
    perHead([&](int64_t b) {
      return HeadProducts{Product{T, T, hs, qkv + b * T * 3 * d, 3 * d, 1, qkv + b * T * 3 * d + d, 1, 3 * d,
                                  att + b * H * TT, T, false, true},
                          hs, hs, TT};
    });
    attentionSoftmaxKernel<<<warpBlocks(B * H * T), kThreads, 0, ctx_.stream>>>(att, B * H * T, T,
                                                                                1.0f / std::sqrt((float)hs));
    launched("attentionSoftmax");
    // Y = P·V into head h's columns of out
    perHead([&](int64_t b) {
      return HeadProducts{Product{T, hs, T, att + b * H * TT, T, 1, qkv + b * T * 3 * d + 2 * d, 3 * d, 1,
                                  out + b * T * d, d, false, false},
                          TT, hs, hs};
    });
  }

  void attentionBackward(float* dqkv, const float* dout, const float* qkv, const float* att) {
    const int64_t B = c_.batch, T = c_.seq, d = c_.dModel, H = c_.heads, hs = d / H, TT = T * T;
    float* dP = datt_;
    // dP = dY·Vᵀ
    perHead([&](int64_t b) {
      return HeadProducts{Product{T, T, hs, dout + b * T * d, d, 1, qkv + b * T * 3 * d + 2 * d, 1, 3 * d,
                                  dP + b * H * TT, T, false, true},
                          hs, hs, TT};
    });
    // dV = Pᵀ·dY
    perHead([&](int64_t b) {
      return HeadProducts{Product{T, hs, T, att + b * H * TT, 1, T, dout + b * T * d, d, 1,
                                  dqkv + b * T * 3 * d + 2 * d, 3 * d, true, false},
                          TT, hs, hs};
    });
    const float sa = signFor(TrainFault::Attention);
    const float ss = signFor(TrainFault::Softmax);
    if (fault_ == TrainFault::Attention) negate(dqkv, B * T, 3 * d, 2 * d, d);
    attentionSoftmaxBackwardKernel<<<warpBlocks(B * H * T), kThreads, 0, ctx_.stream>>>(
        dP, att, B * H * T, T, 1.0f / std::sqrt((float)hs), sa, ss);
    launched("attentionSoftmaxBackward");
    // dQ = dS·K
    perHead([&](int64_t b) {
      return HeadProducts{Product{T, hs, T, dP + b * H * TT, T, 1, qkv + b * T * 3 * d + d, 3 * d, 1,
                                  dqkv + b * T * 3 * d, 3 * d, false, false},
                          TT, hs, hs};
    });
    // dK = dSᵀ·Q
    perHead([&](int64_t b) {
      return HeadProducts{Product{T, hs, T, dP + b * H * TT, 1, T, qkv + b * T * 3 * d, 3 * d, 1,
                                  dqkv + b * T * 3 * d + d, 3 * d, true, false},
                          TT, hs, hs};
    });
  }

  // ------------------------------------------------------------ the step

  void forward() {
    if (!haveTokens_) throw NativeError("no tokens uploaded: call setTokens first");
    const int64_t d = c_.dModel, T = c_.seq, N = this->N(), V = c_.vocab;
    if (f16_) toHalf(w16_, params_, count_);  // autocast's cast of the master weights
    encoderKernel<<<blocksFor(N * d), kThreads, 0, ctx_.stream>>>(b_.encoded, inputs_, b_.wte, b_.wpe, N, T, d);
    launched("encoder");
    forwardBlocks(*this, b_, c_);
    // Tied head: logits = lnf · wteᵀ.
    mixed(Product{N, V, d, b_.lnf, d, 1, b_.wte, 1, d, nullptr, V, false, true}, N * d, 0, true, b_.logits, N * V);
    crossEntropyKernel<<<(unsigned)N, 1024, 0, ctx_.stream>>>(b_.logits, b_.losses, targets_, V);
    launched("crossEntropy");
    check(cudaMemcpyAsync(hostLosses_, b_.losses, (size_t)N * 4, cudaMemcpyDeviceToHost, ctx_.stream),
          "cudaMemcpyAsync (losses)");
  }

  void backward() {
    const int64_t d = c_.dModel, T = c_.seq, N = this->N(), V = c_.vocab;
    // With f16 the loss is scaled (and every activation gradient with it); the gradients are unscaled at the end.
    const float sce = signFor(TrainFault::CrossEntropy);
    const float scale = sce * (f16_ ? scaler_.scale : 1.0f) / (float)N;
    crossEntropyBackwardKernel<<<blocksFor(N * V), kThreads, 0, ctx_.stream>>>(b_.logits, targets_, N, V, scale);
    launched("crossEntropyBackward");
    // Head: dlnf = dlogits · wte; dwte = dlogitsᵀ · lnf (the embedding's scatter-add comes last).
    mixed(Product{N, d, V, b_.logits, V, 1, b_.wte, d, 1, nullptr, d, false, false}, N * V, 0, true, b_.dln, N * d);
    mixed(Product{V, d, N, b_.logits, 1, V, b_.lnf, d, 1, nullptr, d, true, false}, N * V, N * d, false, grad(b_.wte),
          V * d);
    if (fault_ == TrainFault::Head) {
      negate(b_.dln, 1, 0, 0, N * d);
      negate(grad(b_.wte), 1, 0, 0, V * d);
    }
    check(cudaMemsetAsync(b_.dres, 0, (size_t)(N * d) * 4, ctx_.stream), "cudaMemsetAsync");
    backwardBlocks(*this, b_, c_);
    float* dwpe = grad(b_.wpe);
    check(cudaMemsetAsync(dwpe, 0, (size_t)(c_.positions * d) * 4, ctx_.stream), "cudaMemsetAsync");
    const float se = signFor(TrainFault::Embedding);
    embeddingTokensKernel<<<blocksFor(d), kThreads, 0, ctx_.stream>>>(grad(b_.wte), b_.dres, inputs_, N, d, se);
    launched("embeddingTokens");
    embeddingPositionsKernel<<<blocksFor(T * d), kThreads, 0, ctx_.stream>>>(dwpe, b_.dres, c_.batch, T, d, se);
    launched("embeddingPositions");
    if (f16_) {
      check(cudaMemsetAsync(overflow_, 0, 4, ctx_.stream), "cudaMemsetAsync (overflow flag)");
      unscaleKernel<<<blocksFor(count_), kThreads, 0, ctx_.stream>>>(grads_, count_, 1.0f / scaler_.scale, overflow_);
      launched("unscale");
      check(cudaMemcpyAsync(hostOverflow_, overflow_, 4, cudaMemcpyDeviceToHost, ctx_.stream),
            "cudaMemcpyAsync (overflow flag)");
    }
  }

  /** AdamW at step step_ + 1 (skipped on the device when the overflow flag is set). */
  void adamw() {
    const double t = (double)(step_ + 1);
    const AdamWConstants k{(float)c_.beta1,
                           (float)c_.beta2,
                           (float)(1.0 - c_.beta1),
                           (float)(1.0 - c_.beta2),
                           (float)c_.learningRate,
                           (float)c_.epsilon,
                           (float)c_.weightDecay,
                           (float)(1.0 - std::pow(c_.beta1, t)),
                           (float)(1.0 - std::pow(c_.beta2, t))};
    adamwKernel<<<blocksFor(count_), kThreads, 0, ctx_.stream>>>(params_, grads_, m_, v_, count_, k, overflow_);
    launched("adamw");
  }

 private:
  int device_ = -1;
  std::string deviceName_;
  int smCount_ = 1;
  CudaContext ctx_;
  std::string gemmNote_;
  EventTimer timer_;
  int64_t count_ = 0, step_ = 0;
  int64_t offParams_ = 0, offGrads_ = 0, offM_ = 0, offV_ = 0, offActs_ = 0, offDatt_ = 0, offInputs_ = 0,
          offTargets_ = 0, offOverflow_ = 0, offW16_ = 0, offA16_ = 0, offB16_ = 0, offC16_ = 0, allocationBytes_ = 0;
  void* memory_ = nullptr;
  /** Pinned, one allocation: the per-row losses of the last forward, then the overflow flag of the last backward. */
  float* hostLosses_ = nullptr;
  int* hostOverflow_ = nullptr;
  double peakDeviceBytes_ = 0;
  bool haveTokens_ = false;
  float *params_ = nullptr, *grads_ = nullptr, *m_ = nullptr, *v_ = nullptr, *datt_ = nullptr;
  int32_t *inputs_ = nullptr, *targets_ = nullptr;
  int* overflow_ = nullptr;
  __half *w16_ = nullptr, *a16_ = nullptr, *b16_ = nullptr, *c16_ = nullptr;
  TrainBuffers b_;
};

}  // namespace

std::unique_ptr<TrainSession> prepareTraining(const TrainConfig& config, const CudaOptions& options) {
  const CudaProbe p = probe();
  if (!p.available) throw NativeError("CUDA unavailable: " + p.reason);
  try {
    return std::make_unique<CudaTrainSession>(config, options);
  } catch (const std::bad_alloc&) {
    throw NativeError("out of host memory while preparing the training step");
  }
}

}  // namespace gpubench::cuda
