// The CPU training step (see train.h): forward, backward and AdamW over core's flat parameter
// layout, products on gemmBatch (system BLAS for f32 where chosen, else the own kernels), every
// other kernel here, split over the thread pool. Loops mirror core's float64 reference
// (packages/core/src/train/reference.ts) kernel by kernel, so the two can be read side by side.
//
// Buffers are allocated once in prepare and reused by every step: activations kept for backward
// per layer, one layer's worth of activation gradients, the logits' gradient in place of the
// probabilities. A timed step allocates nothing.
#include "train.h"

#include "../common/train_step.h"

// No code here reads floating-point exception flags; without trapping math GCC turns the selects
// of the GELU's exponential into blends and vectorises those loops (measured: a quarter of a
// quick-preset step was GELU). Clang vectorises them as they are.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC optimize("no-trapping-math")
#endif

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <limits>
#include <new>

#include <sys/resource.h>
#include <unistd.h>
#if defined(__APPLE__)
#include <mach/mach.h>
#endif

#include "../common/f16.h"
#include "cpu_features.h"
#include "timer.h"

namespace gpubench::cpu {

namespace {

/**
 * e^x for x <= 0 (Cephes' expf: x = k·ln 2 + r, |r| <= ln 2 / 2, a degree-7 polynomial for e^r, 2^k
 * through the exponent bits), within 2 ulps, written without calls or branches so that the GELU
 * loops vectorise (SSE2 truncation rounds k, which is why x must not be positive). Below -87 it
 * returns e^-87, far below what tanh can tell from 0.
 */
inline float expNonPositive(float x) {
  x = x > -87.0f ? x : -87.0f;
  const float k = (float)(int32_t)(x * 1.44269504088896341f - 0.5f);
  const float r = x - k * 0.693359375f + k * 2.12194440e-4f;
  float p = 1.9875691500e-4f;
  p = p * r + 1.3981999507e-3f;
  p = p * r + 8.3334519073e-3f;
  p = p * r + 4.1665795894e-2f;
  p = p * r + 1.6666665459e-1f;
  p = p * r + 5.0000001201e-1f;
  p = p * r * r + r + 1.0f;
  const int32_t bits = ((int32_t)k + 127) << 23;
  float scale;
  std::memcpy(&scale, &bits, 4);
  return p * scale;
}

/**
 * tanh through one exponential: sign(x)·(1 − e^(−2|x|))/(1 + e^(−2|x|)). libm's tanhf (through
 * expm1f) took about a fifth of a quick-preset step in GELU; this is within a few ulps in absolute
 * terms, which is what GELU's 1 + tanh and 1 − tanh² use.
 */
inline float fastTanh(float x) {
  const float t = expNonPositive(-2.0f * std::fabs(x));
  const float r = (1.0f - t) / (1.0f + t);
  return std::copysign(r, x);
}

/** Runs f(begin, end, worker) over [0, n) in chunks of at least `grain`, on the pool. */
template <class F>
void parallelRange(ThreadPool& pool, int64_t n, int64_t grain, const F& f) {
  const int64_t chunks = std::min<int64_t>((int64_t)pool.size() * 4, (n + grain - 1) / std::max<int64_t>(grain, 1));
  if (chunks <= 1) {
    f((int64_t)0, n, 0);
    return;
  }
  pool.parallelFor((int)chunks, [&](int task, int worker) { f(n * task / chunks, n * (task + 1) / chunks, worker); });
}

class CpuTrainSession final : public TrainSessionBase {
 public:
  CpuTrainSession(const TrainConfig& c, const CpuOptions& options) : TrainSessionBase(c) {
    ctx_.kernels = &selectKernels(options.isa);
    ctx_.blas = chooseBlas(options.blas);
    ctx_.pool = &ThreadPool::global();
    const int64_t d = c.dModel, N = c.batch * c.seq;
    // Parameters in core's layout (parameterLayout), activations as core's activationElementsOf.
    count_ = TrainBuffers::parameterCount(c);
    params_.assign((size_t)count_, 0.0f);
    grads_.assign((size_t)count_, 0.0f);
    m_.assign((size_t)count_, 0.0f);
    v_.assign((size_t)count_, 0.0f);
    acts_.assign((size_t)TrainBuffers::activationFloats(c), 0.0f);
    b_.bind(c, params_.data(), acts_.data());
    inputs_.assign((size_t)N, 0);
    targets_.assign((size_t)N, 0);
    const int workers = ctx_.pool->size();
    partials_.assign((size_t)workers * 2 * (size_t)d, 0.0f);
    datt_.assign((size_t)TrainBuffers::attentionFloats(c), 0.0f);
    if (f16_) {
      // f16 copies of the weights, and of one product's operands and result at a time.
      const int64_t largest = TrainBuffers::largestProductOperand(c);
      w16_.assign((size_t)count_, 0);
      a16_.assign((size_t)largest, 0);
      b16_.assign((size_t)largest, 0);
      c16_.assign((size_t)largest, 0);
    }
  }

  int64_t parameterCount() const override { return count_; }

  void setParameters(const float* data, int64_t count) override {
    if (count != count_)
      throw NativeError("expected " + std::to_string(count_) + " parameters, got " + std::to_string(count));
    std::memcpy(params_.data(), data, (size_t)count * 4);
    std::fill(m_.begin(), m_.end(), 0.0f);
    std::fill(v_.begin(), v_.end(), 0.0f);
    step_ = 0;
    scaler_.reset(c_.initialLossScale);
  }

  void setGradients(const float* data, int64_t count) override {
    if (count != count_)
      throw NativeError("expected " + std::to_string(count_) + " gradients, got " + std::to_string(count));
    std::memcpy(grads_.data(), data, (size_t)count * 4);
  }

  void read(const std::string& name, float* out, int64_t count) override {
    if (count != count_)
      throw NativeError("expected " + std::to_string(count_) + " elements, got " + std::to_string(count));
    std::memcpy(out, buffer(name), (size_t)count * 4);
  }

  void setTokens(const int32_t* data, int64_t count) override {
    splitTokens(c_, data, count, inputs_.data(), targets_.data());
    haveTokens_ = true;
  }

  void poisonGradients() override { std::fill(grads_.begin(), grads_.end(), std::numeric_limits<float>::quiet_NaN()); }

  double forwardBackward() override {
    const double loss = forward();
    backward();
    return loss;
  }

  void optimizerStep() override { adamw(); }

  TrainStepTimes timedStep() override {
    TrainStepTimes s;
    const double t0 = nowNs();
    s.loss = forward();
    const double t1 = nowNs();
    backward();
    const double t2 = nowNs();
    s.lossScale = f16_ ? scaler_.scale : 1.0;
    s.skipped = f16_ && scaler_.afterBackward(overflowed_);
    if (!s.skipped) adamw();
    const double t3 = nowNs();
    s.forwardNs = t1 - t0;
    s.backwardNs = t2 - t1;
    s.optimizerNs = t3 - t2;
    s.stepNs = t3 - t0;
    return s;
  }

  float* buffer(const std::string& name) {
    if (name == "parameters") return params_.data();
    if (name == "gradients") return grads_.data();
    if (name == "m") return m_.data();
    if (name == "v") return v_.data();
    throw NativeError("no training buffer named '" + name + "'");
  }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    out.push_back(std::string("training kernels: ") + (f16_ ? "f16 mixed precision, " : "f32, ") + ctx_.kernels->isa +
                  " element-wise on " + std::to_string(ctx_.pool->size()) + " threads; gemm: " +
                  (ctx_.blas && !f16_ ? ctx_.blas->name + " (" + ctx_.blas->detail + ")"
                                      : std::string("own ") + ctx_.kernels->isa + (f16_ ? " f16" : "")));
    if (f16_)
      out.push_back(
          "mixed precision: f16 operands and results of every product (own f16 GEMM, f32 accumulation), f32 master "
          "weights, AdamW state, element-wise kernels and attention; loss scale now " +
          std::to_string((int64_t)scaler_.scale) + ", " + std::to_string(scaler_.skippedSteps) +
          " steps skipped for overflow so far");
    if (fault_ != TrainFault::None) out.push_back("fault injected: " + c_.fault + " (tests only)");
    return out;
  }

  // The kernels, public for the step's structure (common/train_step.h) to call; the class is this file's alone.

  /** A parameter's gradient: the same offset in grads_. */
  float* grad(const float* p) { return grads_.data() + (p - params_.data()); }

  // ------------------------------------------------------------ products

  /** One product; with f16, operands and result are the f16 buffers given (f32 accumulation inside). */
  void product(const GemmProblem& p) { gemmBatch(ctx_, {p}); }

  /** f16 copy of an f32 buffer, split over the pool. */
  void toHalf(uint16_t* out, const float* in, int64_t n) {
    parallelRange(*ctx_.pool, n, 1 << 14, [&](int64_t lo, int64_t hi, int) {
      for (int64_t i = lo; i < hi; i++) out[i] = f32ToF16(in[i]);
    });
  }

  void toFloat(float* out, const uint16_t* in, int64_t n) {
    parallelRange(*ctx_.pool, n, 1 << 14, [&](int64_t lo, int64_t hi, int) {
      for (int64_t i = lo; i < hi; i++) out[i] = f16ToF32(in[i]);
    });
  }

  /** A weight's f16 copy (refreshed at the start of each forward). */
  const uint16_t* half(const float* W) const { return w16_.data() + (W - params_.data()); }

  /**
   * C (f32) = op(A) · op(B) with A and B f32 (B a weight when bIsWeight); f32 products directly,
   * f16 through the f16 buffers: A converted into a16_, B into b16_ unless it is a weight.
   */
  void mixed(GemmProblem p, int64_t aElements, int64_t bElements, bool bIsWeight, float* C, int64_t cElements) {
    if (!f16_) {
      p.C = C;
      product(p);
      return;
    }
    toHalf(a16_.data(), static_cast<const float*>(p.A), aElements);
    if (bIsWeight) {
      p.B = half(static_cast<const float*>(p.B));
    } else {
      toHalf(b16_.data(), static_cast<const float*>(p.B), bElements);
      p.B = b16_.data();
    }
    p.A = a16_.data();
    p.C = c16_.data();
    p.f16 = true;
    product(p);
    toFloat(C, c16_.data(), cElements);
  }

  /** out (N x O) = x (N x I) · W (I x O). */
  void matmul(float* out, const float* x, const float* W, int64_t N, int64_t I, int64_t O) {
    mixed(GemmProblem{N, O, I, x, I, 1, W, O, 1, nullptr, O, false, false, false}, N * I, 0, true, out, N * O);
  }

  /** dx (N x I) = dout · Wᵀ; dW (I x O) = xᵀ · dout; db = column sums of dout (none when db is null). */
  void matmulBackward(float* dx, float* dW, float* db, const float* dout, const float* x, const float* W, int64_t N,
                      int64_t I, int64_t O) {
    mixed(GemmProblem{N, I, O, dout, O, 1, W, 1, O, nullptr, I, false, false, true}, N * O, 0, true, dx, N * I);
    mixed(GemmProblem{I, O, N, x, 1, I, dout, O, 1, nullptr, O, false, true, false}, N * I, N * O, false, dW, I * O);
    if (fault_ == TrainFault::LinearInput) negate(dx, N * I);
    if (fault_ == TrainFault::LinearWeight) negate(dW, I * O);
    if (db) columnSums(db, dout, N, O, signFor(TrainFault::Bias));
  }

  void negate(float* x, int64_t n) {
    for (int64_t i = 0; i < n; i++) x[i] = -x[i];
  }

  /** db[o] = sign · Σ_n dout[n][o], split over columns. */
  void columnSums(float* db, const float* dout, int64_t N, int64_t O, float sign) {
    parallelRange(*ctx_.pool, O, 64, [&](int64_t lo, int64_t hi, int) {
      for (int64_t o = lo; o < hi; o++) db[o] = 0;
      for (int64_t n = 0; n < N; n++)
        for (int64_t o = lo; o < hi; o++) db[o] += dout[n * O + o];
      for (int64_t o = lo; o < hi; o++) db[o] *= sign;
    });
  }

  /** out[n] += b (+ residual[n] when given). */
  void addBias(float* out, const float* b, const float* residual, int64_t N, int64_t O) {
    parallelRange(*ctx_.pool, N, 16, [&](int64_t lo, int64_t hi, int) {
      for (int64_t n = lo; n < hi; n++) {
        float* row = out + n * O;
        if (residual)
          for (int64_t o = 0; o < O; o++) row[o] += b[o] + residual[n * O + o];
        else
          for (int64_t o = 0; o < O; o++) row[o] += b[o];
      }
    });
  }

  // ------------------------------------------------------------ LayerNorm

  void layerNorm(float* out, float* mean, float* rstd, const float* x, const float* g, const float* b) {
    const int64_t N = c_.batch * c_.seq, d = c_.dModel;
    parallelRange(*ctx_.pool, N, 16, [&](int64_t lo, int64_t hi, int) {
      for (int64_t n = lo; n < hi; n++) {
        const float* xr = x + n * d;
        float mu = 0;
        for (int64_t i = 0; i < d; i++) mu += xr[i];
        mu /= (float)d;
        float var = 0;
        for (int64_t i = 0; i < d; i++) var += (xr[i] - mu) * (xr[i] - mu);
        var /= (float)d;
        const float rs = 1.0f / std::sqrt(var + kLayerNormEpsilon);
        mean[n] = mu;
        rstd[n] = rs;
        for (int64_t i = 0; i < d; i++) out[n * d + i] = (xr[i] - mu) * rs * g[i] + b[i];
      }
    });
  }

  /** dx += the input's gradient; dg, db = the scale's and shift's (overwritten). */
  void layerNormBackward(float* dx, float* dg, float* db, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* g) {
    const int64_t N = c_.batch * c_.seq, d = c_.dModel;
    const int workers = ctx_.pool->size();
    const float sign = signFor(TrainFault::LayerNorm);
    std::fill(partials_.begin(), partials_.begin() + (size_t)workers * 2 * d, 0.0f);
    parallelRange(*ctx_.pool, N, 16, [&](int64_t lo, int64_t hi, int worker) {
      float* pg = partials_.data() + (size_t)worker * 2 * d;
      float* pb = pg + d;
      for (int64_t n = lo; n < hi; n++) {
        const float mu = mean[n], rs = rstd[n];
        const float* xr = x + n * d;
        const float* dr = dout + n * d;
        float meanDxhat = 0, meanDxhatXhat = 0;
        for (int64_t i = 0; i < d; i++) {
          const float xhat = (xr[i] - mu) * rs;
          const float dxhat = dr[i] * g[i];
          meanDxhat += dxhat;
          meanDxhatXhat += dxhat * xhat;
          pg[i] += dr[i] * xhat;
          pb[i] += dr[i];
        }
        meanDxhat /= (float)d;
        meanDxhatXhat /= (float)d;
        for (int64_t i = 0; i < d; i++) {
          const float xhat = (xr[i] - mu) * rs;
          dx[n * d + i] += sign * rs * (dr[i] * g[i] - meanDxhat - xhat * meanDxhatXhat);
        }
      }
    });
    for (int64_t i = 0; i < d; i++) {
      float sg = 0, sb = 0;
      for (int w = 0; w < workers; w++) {
        sg += partials_[(size_t)w * 2 * d + i];
        sb += partials_[(size_t)w * 2 * d + d + i];
      }
      dg[i] = sg;
      db[i] = sb;
    }
  }

  // ------------------------------------------------------------ attention

  /** Runs one product per (batch, head) on the own kernels, in one pool dispatch (the system BLAS would take one call
   * per tiny product). */
  template <class Make>
  void perHead(const Make& make) {
    const int64_t H = c_.heads, BH = c_.batch * H;
    attentionProblems_.clear();
    for (int64_t bh = 0; bh < BH; bh++) attentionProblems_.push_back(make(bh / H, bh % H, bh));
    ctx_.kernels->gemm(attentionProblems_.data(), (int)BH, *ctx_.pool, ctx_.ws);
  }

  /**
   * Causal multi-head attention: out (N x d) and probabilities att (B·H·T·T) from qkv (N x 3d).
   * S = Q·Kᵀ and Y = P·V are products per (batch, head) over the full T x T square; the softmax
   * masks S causally and leaves P 0 above the diagonal, so only the causal pairs contribute.
   */
  void attention(float* out, float* att, const float* qkv) {
    const int64_t B = c_.batch, T = c_.seq, d = c_.dModel, H = c_.heads, hs = d / H;
    const float scale = 1.0f / std::sqrt((float)hs);
    // S[t][u] = Σ_i Q[t][i] · K[u][i]
    perHead([&](int64_t b, int64_t h, int64_t bh) {
      return GemmProblem{T,
                         T,
                         hs,
                         qkv + b * T * 3 * d + h * hs,
                         3 * d,
                         1,
                         qkv + b * T * 3 * d + d + h * hs,
                         1,
                         3 * d,
                         att + bh * T * T,
                         T,
                         false,
                         false,
                         true};
    });
    parallelRange(*ctx_.pool, B * H * T, 16, [&](int64_t lo, int64_t hi, int) {
      for (int64_t r = lo; r < hi; r++) {
        const int64_t t = r % T;
        float* row = att + r * T;
        float max = -std::numeric_limits<float>::infinity();
        for (int64_t u = 0; u <= t; u++) {
          row[u] *= scale;
          max = std::max(max, row[u]);
        }
        float sum = 0;
        for (int64_t u = 0; u <= t; u++) {
          row[u] = std::exp(row[u] - max);
          sum += row[u];
        }
        const float inv = 1.0f / sum;
        for (int64_t u = 0; u <= t; u++) row[u] *= inv;
        for (int64_t u = t + 1; u < T; u++) row[u] = 0.0f;
      }
    });
    // Y[t][i] = Σ_u P[t][u] · V[u][i], into head h's columns of out.
    perHead([&](int64_t b, int64_t h, int64_t bh) {
      return GemmProblem{T,
                         hs,
                         T,
                         att + bh * T * T,
                         T,
                         1,
                         qkv + b * T * 3 * d + 2 * d + h * hs,
                         3 * d,
                         1,
                         out + b * T * d + h * hs,
                         d,
                         false,
                         false,
                         false};
    });
  }

  /**
   * dqkv (overwritten) from dout (N x d), as four products per (batch, head) (perHead):
   * dP = dY·Vᵀ, dV = Pᵀ·dY, then dS = P ⊙ (dP − Σ P⊙dP)/√hs row by row, dQ = dS·K, dK = dSᵀ·Q.
   * The products run over the full T x T square; P is 0 above the diagonal, so only the causal
   * pairs contribute (the FLOP count states the causal work).
   */
  void attentionBackward(float* dqkv, const float* dout, const float* qkv, const float* att) {
    const int64_t B = c_.batch, T = c_.seq, d = c_.dModel, H = c_.heads, hs = d / H, BH = B * H;
    const float scale = 1.0f / std::sqrt((float)hs);
    float* dP = datt_.data();
    // dP[t][u] = Σ_i dY[t][i] · V[u][i]
    perHead([&](int64_t b, int64_t h, int64_t bh) {
      return GemmProblem{T,
                         T,
                         hs,
                         dout + b * T * d + h * hs,
                         d,
                         1,
                         qkv + b * T * 3 * d + 2 * d + h * hs,
                         1,
                         3 * d,
                         dP + bh * T * T,
                         T,
                         false,
                         false,
                         true};
    });
    // dV[u][i] = Σ_t P[t][u] · dY[t][i]
    perHead([&](int64_t b, int64_t h, int64_t bh) {
      return GemmProblem{T,
                         hs,
                         T,
                         att + bh * T * T,
                         1,
                         T,
                         dout + b * T * d + h * hs,
                         d,
                         1,
                         dqkv + b * T * 3 * d + 2 * d + h * hs,
                         3 * d,
                         false,
                         true,
                         false};
    });
    const float sa = signFor(TrainFault::Attention);
    const float ss = signFor(TrainFault::Softmax);
    if (fault_ == TrainFault::Attention)
      for (int64_t bh = 0; bh < BH; bh++)
        for (int64_t t = 0; t < T; t++) negate(dqkv + ((bh / H) * T + t) * 3 * d + 2 * d + (bh % H) * hs, hs);
    // dS in place of dP, causal rows.
    parallelRange(*ctx_.pool, BH * T, 16, [&](int64_t lo, int64_t hi, int) {
      for (int64_t r = lo; r < hi; r++) {
        const int64_t t = r % T;
        const float* p = att + r * T;
        float* ds = dP + r * T;
        float inner = 0;
        for (int64_t u = 0; u <= t; u++) inner += p[u] * ds[u];
        inner *= sa;
        for (int64_t u = 0; u <= t; u++) ds[u] = ss * p[u] * (sa * ds[u] - inner) * scale;
        for (int64_t u = t + 1; u < T; u++) ds[u] = 0;
      }
    });
    // dQ[t][i] = Σ_u dS[t][u] · K[u][i]
    perHead([&](int64_t b, int64_t h, int64_t bh) {
      return GemmProblem{T,
                         hs,
                         T,
                         dP + bh * T * T,
                         T,
                         1,
                         qkv + b * T * 3 * d + d + h * hs,
                         3 * d,
                         1,
                         dqkv + b * T * 3 * d + h * hs,
                         3 * d,
                         false,
                         false,
                         false};
    });
    // dK[u][i] = Σ_t dS[t][u] · Q[t][i]
    perHead([&](int64_t b, int64_t h, int64_t bh) {
      return GemmProblem{T,
                         hs,
                         T,
                         dP + bh * T * T,
                         1,
                         T,
                         qkv + b * T * 3 * d + h * hs,
                         3 * d,
                         1,
                         dqkv + b * T * 3 * d + d + h * hs,
                         3 * d,
                         false,
                         true,
                         false};
    });
  }

  // ------------------------------------------------------------ GELU

  void gelu(float* out, const float* x, int64_t n) {
    parallelRange(*ctx_.pool, n, 4096, [&](int64_t lo, int64_t hi, int) {
      for (int64_t i = lo; i < hi; i++) {
        const float v = x[i];
        out[i] = 0.5f * v * (1.0f + fastTanh(kGeluC * (v + 0.044715f * v * v * v)));
      }
    });
  }

  void geluBackward(float* dx, const float* dout, const float* x, int64_t n) {
    const float sign = signFor(TrainFault::Gelu);
    parallelRange(*ctx_.pool, n, 4096, [&](int64_t lo, int64_t hi, int) {
      for (int64_t i = lo; i < hi; i++) {
        const float v = x[i];
        const float th = fastTanh(kGeluC * (v + 0.044715f * v * v * v));
        const float grad =
            0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * kGeluC * (1.0f + 3.0f * 0.044715f * v * v);
        dx[i] = sign * grad * dout[i];
      }
    });
  }

  // ------------------------------------------------------------ the step

  double forward() {
    if (!haveTokens_) throw NativeError("no tokens uploaded: call setTokens first");
    const int64_t d = c_.dModel, T = c_.seq, N = c_.batch * T, V = c_.vocab;
    if (f16_) toHalf(w16_.data(), params_.data(), count_);  // autocast's cast of the master weights
    parallelRange(*ctx_.pool, N, 16, [&](int64_t lo, int64_t hi, int) {
      for (int64_t n = lo; n < hi; n++) {
        const float* te = b_.wte + (int64_t)inputs_[(size_t)n] * d;
        const float* pe = b_.wpe + (n % T) * d;
        for (int64_t i = 0; i < d; i++) b_.encoded[n * d + i] = te[i] + pe[i];
      }
    });
    forwardBlocks(*this, b_, c_);
    // Tied head: logits = lnf · wteᵀ (wte is V x d).
    mixed(GemmProblem{N, V, d, b_.lnf, d, 1, b_.wte, 1, d, nullptr, V, false, false, true}, N * d, 0, true, b_.logits,
          N * V);
    // Softmax in place (the probabilities are kept for backward) and the cross-entropy per position.
    parallelRange(*ctx_.pool, N, 4, [&](int64_t lo, int64_t hi, int) {
      for (int64_t n = lo; n < hi; n++) {
        float* row = b_.logits + n * V;
        float max = -std::numeric_limits<float>::infinity();
        for (int64_t v = 0; v < V; v++) max = std::max(max, row[v]);
        double sum = 0;
        for (int64_t v = 0; v < V; v++) {
          row[v] = std::exp(row[v] - max);
          sum += row[v];
        }
        const float inv = (float)(1.0 / sum);
        for (int64_t v = 0; v < V; v++) row[v] *= inv;
        b_.losses[n] = -std::log(row[targets_[(size_t)n]]);
      }
    });
    double loss = 0;
    for (int64_t n = 0; n < N; n++) loss += b_.losses[n];
    return loss / (double)N;
  }

  void backward() {
    const int64_t d = c_.dModel, T = c_.seq, N = c_.batch * T, V = c_.vocab;
    // Cross-entropy: dlogits = (probs − onehot) / N, in place of the probabilities.
    const float sce = signFor(TrainFault::CrossEntropy);
    // With f16 the loss is scaled (and every activation gradient with it); the gradients are unscaled at the end.
    const float invN = (f16_ ? scaler_.scale : 1.0f) / (float)N;
    parallelRange(*ctx_.pool, N, 4, [&](int64_t lo, int64_t hi, int) {
      for (int64_t n = lo; n < hi; n++) {
        float* row = b_.logits + n * V;
        row[targets_[(size_t)n]] -= 1.0f;
        for (int64_t v = 0; v < V; v++) row[v] *= sce * invN;
      }
    });
    // Head: dlnf = dlogits · wte; dwte = dlogitsᵀ · lnf (the embedding's scatter-add comes last).
    mixed(GemmProblem{N, d, V, b_.logits, V, 1, b_.wte, d, 1, nullptr, d, false, false, false}, N * V, 0, true, b_.dln,
          N * d);
    mixed(GemmProblem{V, d, N, b_.logits, 1, V, b_.lnf, d, 1, nullptr, d, false, true, false}, N * V, N * d, false,
          grad(b_.wte), V * d);
    if (fault_ == TrainFault::Head) {
      negate(b_.dln, N * d);
      negate(grad(b_.wte), V * d);
    }
    std::fill_n(b_.dres, N * d, 0.0f);
    backwardBlocks(*this, b_, c_);
    // Embeddings: scatter-add into the token's row of wte and the position's row of wpe. Rows of
    // wte repeat across positions, so the columns are split instead of the positions.
    const float se = signFor(TrainFault::Embedding);
    float* dwte = grad(b_.wte);
    float* dwpe = grad(b_.wpe);
    std::fill_n(dwpe, c_.positions * d, 0.0f);
    parallelRange(*ctx_.pool, d, 16, [&](int64_t lo, int64_t hi, int) {
      for (int64_t n = 0; n < N; n++) {
        float* te = dwte + (int64_t)inputs_[(size_t)n] * d;
        float* pe = dwpe + (n % T) * d;
        for (int64_t i = lo; i < hi; i++) {
          te[i] += se * b_.dres[n * d + i];
          pe[i] += se * b_.dres[n * d + i];
        }
      }
    });
    if (f16_) unscale();
  }

  /** f16: checks the scaled gradients for overflow (then the step is skipped) and divides them by the scale. */
  void unscale() {
    float* g = grads_.data();
    const float inv = 1.0f / scaler_.scale;
    std::vector<char> bad((size_t)ctx_.pool->size(), 0);
    parallelRange(*ctx_.pool, count_, 1 << 14, [&](int64_t lo, int64_t hi, int worker) {
      for (int64_t i = lo; i < hi; i++) {
        if (!std::isfinite(g[i])) bad[(size_t)worker] = 1;
        g[i] *= inv;
      }
    });
    overflowed_ = std::find(bad.begin(), bad.end(), 1) != bad.end();
  }

  /** AdamW as core's referenceAdamW, over every parameter. */
  void adamw() {
    step_ += 1;
    // Constants in double, rounded once: 1 − β and the bias corrections as exact as f32 holds them.
    const float b1 = (float)c_.beta1, b2 = (float)c_.beta2, lr = (float)c_.learningRate, eps = (float)c_.epsilon;
    const float wd = (float)c_.weightDecay, a1 = (float)(1.0 - c_.beta1), a2 = (float)(1.0 - c_.beta2);
    const float c1 = (float)(1.0 - std::pow(c_.beta1, (double)step_));
    const float c2 = (float)(1.0 - std::pow(c_.beta2, (double)step_));
    float* p = params_.data();
    const float* g = grads_.data();
    float* m = m_.data();
    float* v = v_.data();
    parallelRange(*ctx_.pool, count_, 1 << 14, [&](int64_t lo, int64_t hi, int) {
      for (int64_t i = lo; i < hi; i++) {
        const float mi = b1 * m[i] + a1 * g[i];
        const float vi = b2 * v[i] + a2 * g[i] * g[i];
        m[i] = mi;
        v[i] = vi;
        p[i] -= lr * ((mi / c1) / (std::sqrt(vi / c2) + eps) + wd * p[i]);
      }
    });
  }

 private:
  /** f16: the scaled gradients of the last backward overflowed; its update must be skipped. */
  bool overflowed_ = false;
  std::vector<uint16_t> w16_, a16_, b16_, c16_;
  CpuContext ctx_{};
  int64_t count_ = 0;
  int64_t step_ = 0;
  bool haveTokens_ = false;
  std::vector<float> params_, grads_, m_, v_, acts_, partials_, datt_;
  std::vector<GemmProblem> attentionProblems_;
  std::vector<int32_t> inputs_, targets_;
  TrainBuffers b_;
};

}  // namespace

std::unique_ptr<TrainSession> prepareTraining(const TrainConfig& config, const CpuOptions& options) {
  try {
    return std::make_unique<CpuTrainSession>(config, options);
  } catch (const std::bad_alloc&) {
    throw NativeError("out of memory while allocating the training step's buffers");
  }
}

}  // namespace gpubench::cpu

namespace gpubench {

double currentRssBytes() {
#if defined(__linux__)
  std::ifstream in("/proc/self/statm");
  double pages = 0, resident = 0;
  if (in >> pages >> resident) return resident * (double)sysconf(_SC_PAGESIZE);
#elif defined(__APPLE__)
  mach_task_basic_info_data_t info{};
  mach_msg_type_number_t count = MACH_TASK_BASIC_INFO_COUNT;
  if (task_info(mach_task_self(), MACH_TASK_BASIC_INFO, reinterpret_cast<task_info_t>(&info), &count) == KERN_SUCCESS)
    return (double)info.resident_size;
#endif
  return std::numeric_limits<double>::quiet_NaN();
}

double peakRssBytes() {
  rusage usage{};
  if (getrusage(RUSAGE_SELF, &usage) != 0) return 0;
#if defined(__APPLE__)
  return (double)usage.ru_maxrss;  // bytes on macOS
#else
  return (double)usage.ru_maxrss * 1024.0;  // KiB on Linux
#endif
}

}  // namespace gpubench
