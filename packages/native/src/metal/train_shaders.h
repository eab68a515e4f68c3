// The MSL source of the Metal training step (train.mm), compiled at run time with fast math off
// (the softmaxes start from -infinity, and exp, log, sqrt and division must be IEEE's). Each kernel
// is a loop of cpu/train.cpp, run per element, row or column, with the same arithmetic; f32
// throughout, f16 only in the conversions around the products. ASCII only.
// UNTESTED here: no macOS machine in reach; built and run by .github/workflows/macos-native.yml.
#pragma once

#include <cstdint>

// The kernels' argument structs, written once for both sides: the MSL source stringifies this
// macro and train.mm expands it in C++. Only 4-byte scalars, so the layouts agree.
#define GPUBENCH_TRAIN_ARGS                                                      \
  struct Count {                                                                 \
    uint n;                                                                      \
  };                                                                             \
  struct FillArgs {                                                              \
    uint n;                                                                      \
    float value;                                                                 \
  };                                                                             \
  /* f32 <-> f16 of a rows x cols matrix (logits can pass 2^32 elements). */     \
  struct MatrixArgs {                                                            \
    uint rows, cols;                                                             \
  };                                                                             \
  struct EncodeArgs {                                                            \
    uint n, d, T;                                                                \
  };                                                                             \
  struct RowArgs {                                                               \
    uint rows, cols;                                                             \
    float eps, sign;                                                             \
  };                                                                             \
  struct ColumnArgs {                                                            \
    uint rows, cols;                                                             \
    float sign;                                                                  \
  };                                                                             \
  struct BiasArgs {                                                              \
    uint n, cols, residual;                                                      \
  };                                                                             \
  /* Rows of A start strideA apart at column colA (+ the head's), likewise B. */ \
  struct DotArgs {                                                               \
    uint T, H, hs, strideA, colA, strideB, colB;                                 \
  };                                                                             \
  struct SoftmaxArgs {                                                           \
    uint rows, T;                                                                \
    float scale, sa, ss;                                                         \
  };                                                                             \
  struct AttentionArgs {                                                         \
    uint n, T, H, hs, d;                                                         \
    float sa;                                                                    \
  };                                                                             \
  struct GeluArgs {                                                              \
    uint n;                                                                      \
    float c, sign;                                                               \
  };                                                                             \
  struct CrossEntropyArgs {                                                      \
    uint rows, V;                                                                \
    float factor;                                                                \
  };                                                                             \
  struct EmbeddingArgs {                                                         \
    uint n, N, T, d;                                                             \
    float sign;                                                                  \
  };                                                                             \
  struct UnscaleArgs {                                                           \
    uint n;                                                                      \
    float inv;                                                                   \
  };                                                                             \
  struct AdamArgs {                                                              \
    uint n;                                                                      \
    float b1, b2, lr, eps, wd, a1, a2, c1, c2;                                   \
  };

#define GPUBENCH_TRAIN_STR2(...) #__VA_ARGS__
#define GPUBENCH_TRAIN_STR(...) GPUBENCH_TRAIN_STR2(__VA_ARGS__)

namespace gpubench::metal {

namespace train_args {
using uint = std::uint32_t;
GPUBENCH_TRAIN_ARGS
}  // namespace train_args

constexpr const char* kTrainShaderSource =
    "#include <metal_stdlib>\nusing namespace metal;\n" GPUBENCH_TRAIN_STR(GPUBENCH_TRAIN_ARGS) R"MSL(

// One SIMD group per row, several per threadgroup. A group past the last row runs no iterations but
// still reaches every simd_sum, as the GEMV kernels do.
#define ROW_IDS uint group [[threadgroup_position_in_grid]], uint simd [[simdgroup_index_in_threadgroup]], \
  uint simds [[simdgroups_per_threadgroup]], uint lane [[thread_index_in_simdgroup]],                        \
  uint width [[threads_per_simdgroup]]

// Column reductions: threadgroups of 32 columns x 8 row lanes, the lanes added in threadgroup memory.
#define COLUMN_IDS uint2 group [[threadgroup_position_in_grid]], uint2 tid [[thread_position_in_threadgroup]]

kernel void train_fill(device float* x [[buffer(0)]], constant FillArgs& a [[buffer(1)]],
                       uint i [[thread_position_in_grid]]) {
  if (i < a.n) x[i] = a.value;
}

kernel void train_negate(device float* x [[buffer(0)]], constant Count& a [[buffer(1)]],
                         uint i [[thread_position_in_grid]]) {
  if (i < a.n) x[i] = -x[i];
}

// half(x) rounds to nearest even and overflows to infinity, as common/f16.h's f32ToF16.
kernel void train_to_half(device const float* x [[buffer(0)]], device half* y [[buffer(1)]],
                          constant MatrixArgs& a [[buffer(2)]], uint2 pos [[thread_position_in_grid]]) {
  if (pos.x >= a.cols || pos.y >= a.rows) return;
  const ulong i = ulong(pos.y) * a.cols + pos.x;
  y[i] = half(x[i]);
}

kernel void train_to_float(device const half* x [[buffer(0)]], device float* y [[buffer(1)]],
                           constant MatrixArgs& a [[buffer(2)]], uint2 pos [[thread_position_in_grid]]) {
  if (pos.x >= a.cols || pos.y >= a.rows) return;
  const ulong i = ulong(pos.y) * a.cols + pos.x;
  y[i] = float(x[i]);
}

// encoded[n] = wte[token n] + wpe[n mod T]
kernel void train_encode(device const int* tokens [[buffer(0)]], device const float* wte [[buffer(1)]],
                         device const float* wpe [[buffer(2)]], device float* out [[buffer(3)]],
                         constant EncodeArgs& a [[buffer(4)]], uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const uint row = i / a.d, c = i % a.d;
  out[i] = wte[ulong(tokens[row]) * a.d + c] + wpe[ulong(row % a.T) * a.d + c];
}

kernel void train_layernorm(device const float* x [[buffer(0)]], device const float* g [[buffer(1)]],
                            device const float* b [[buffer(2)]], device float* out [[buffer(3)]],
                            device float* mean [[buffer(4)]], device float* rstd [[buffer(5)]],
                            constant RowArgs& a [[buffer(6)]], ROW_IDS) {
  const uint row = group * simds + simd;
  const uint d = row < a.rows ? a.cols : 0;
  const ulong at = ulong(row) * a.cols;
  float s = 0.0f;
  for (uint i = lane; i < d; i += width) s += x[at + i];
  const float mu = simd_sum(s) / float(a.cols);
  float q = 0.0f;
  for (uint i = lane; i < d; i += width) q += (x[at + i] - mu) * (x[at + i] - mu);
  const float var = simd_sum(q) / float(a.cols);
  const float rs = 1.0f / sqrt(var + a.eps);
  if (d == 0) return;
  if (lane == 0) {
    mean[row] = mu;
    rstd[row] = rs;
  }
  for (uint i = lane; i < d; i += width) out[at + i] = (x[at + i] - mu) * rs * g[i] + b[i];
}

// dx += the input's gradient (sign: the layernorm fault); train_layernorm_params has the scale's and shift's.
kernel void train_layernorm_bwd(device const float* dout [[buffer(0)]], device const float* x [[buffer(1)]],
                                device const float* mean [[buffer(2)]], device const float* rstd [[buffer(3)]],
                                device const float* g [[buffer(4)]], device float* dx [[buffer(5)]],
                                constant RowArgs& a [[buffer(6)]], ROW_IDS) {
  const uint row = group * simds + simd;
  const bool live = row < a.rows;
  const uint d = live ? a.cols : 0;
  const float mu = live ? mean[row] : 0.0f, rs = live ? rstd[row] : 0.0f;
  const ulong at = ulong(row) * a.cols;
  float s1 = 0.0f, s2 = 0.0f;
  for (uint i = lane; i < d; i += width) {
    const float xhat = (x[at + i] - mu) * rs;
    const float dxhat = dout[at + i] * g[i];
    s1 += dxhat;
    s2 += dxhat * xhat;
  }
  const float meanDxhat = simd_sum(s1) / float(a.cols);
  const float meanDxhatXhat = simd_sum(s2) / float(a.cols);
  for (uint i = lane; i < d; i += width) {
    const float xhat = (x[at + i] - mu) * rs;
    dx[at + i] += a.sign * rs * (dout[at + i] * g[i] - meanDxhat - xhat * meanDxhatXhat);
  }
}

// dg[i] = sum_n dout[n][i] xhat[n][i], db[i] = sum_n dout[n][i] (overwritten).
kernel void train_layernorm_params(device const float* dout [[buffer(0)]], device const float* x [[buffer(1)]],
                                   device const float* mean [[buffer(2)]], device const float* rstd [[buffer(3)]],
                                   device float* dg [[buffer(4)]], device float* db [[buffer(5)]],
                                   constant ColumnArgs& a [[buffer(6)]], COLUMN_IDS) {
  threadgroup float pg[8][33];
  threadgroup float pb[8][33];
  const uint col = group.x * 32 + tid.x;
  float sg = 0.0f, sb = 0.0f;
  if (col < a.cols) {
    for (uint n = tid.y; n < a.rows; n += 8) {
      const ulong at = ulong(n) * a.cols + col;
      sg += dout[at] * ((x[at] - mean[n]) * rstd[n]);
      sb += dout[at];
    }
  }
  pg[tid.y][tid.x] = sg;
  pb[tid.y][tid.x] = sb;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (tid.y != 0 || col >= a.cols) return;
  float tg = 0.0f, tb = 0.0f;
  for (uint l = 0; l < 8; l++) {
    tg += pg[l][tid.x];
    tb += pb[l][tid.x];
  }
  dg[col] = tg;
  db[col] = tb;
}

// db[o] = sign x sum_n dout[n][o]
kernel void train_column_sums(device const float* dout [[buffer(0)]], device float* db [[buffer(1)]],
                              constant ColumnArgs& a [[buffer(2)]], COLUMN_IDS) {
  threadgroup float part[8][33];
  const uint col = group.x * 32 + tid.x;
  float s = 0.0f;
  if (col < a.cols) {
    for (uint n = tid.y; n < a.rows; n += 8) s += dout[ulong(n) * a.cols + col];
  }
  part[tid.y][tid.x] = s;
  threadgroup_barrier(mem_flags::mem_threadgroup);
  if (tid.y != 0 || col >= a.cols) return;
  float t = 0.0f;
  for (uint l = 0; l < 8; l++) t += part[l][tid.x];
  db[col] = t * a.sign;
}

// out[n] += b (+ residual[n] when a.residual; buffer 2 is then read).
kernel void train_bias_add(device float* out [[buffer(0)]], device const float* b [[buffer(1)]],
                           device const float* residual [[buffer(2)]], constant BiasArgs& a [[buffer(3)]],
                           uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const uint o = i % a.cols;
  if (a.residual != 0)
    out[i] += b[o] + residual[i];
  else
    out[i] += b[o];
}

// S[t][u] = sum_i A[t][i] B[u][i] of one (batch, head), for u <= t only: the scores Q.K^T and,
// backward, dP = dY.V^T. The softmax kernels write the rest of each row.
kernel void train_attention_dots(device const float* A [[buffer(0)]], device const float* B [[buffer(1)]],
                                 device float* out [[buffer(2)]], constant DotArgs& a [[buffer(3)]],
                                 uint3 pos [[thread_position_in_grid]]) {
  const uint u = pos.x, t = pos.y, bh = pos.z;
  if (u > t || t >= a.T) return;
  const uint b = bh / a.H, h = bh % a.H;
  const ulong ra = ulong(b * a.T + t) * a.strideA + a.colA + h * a.hs;
  const ulong rb = ulong(b * a.T + u) * a.strideB + a.colB + h * a.hs;
  float s = 0.0f;
  for (uint i = 0; i < a.hs; i++) s += A[ra + i] * B[rb + i];
  out[(ulong(bh) * a.T + t) * a.T + u] = s;
}

// Causal softmax of scale x S in place, row by row; 0 above the diagonal.
kernel void train_softmax_causal(device float* att [[buffer(0)]], constant SoftmaxArgs& a [[buffer(1)]], ROW_IDS) {
  const uint row = group * simds + simd;
  const bool live = row < a.rows;
  const uint last = live ? row % a.T + 1 : 0, end = live ? a.T : 0;
  device float* r = att + ulong(row) * a.T;
  float mx = -INFINITY;
  for (uint u = lane; u < last; u += width) {
    const float v = r[u] * a.scale;
    r[u] = v;
    mx = max(mx, v);
  }
  mx = simd_max(mx);
  float s = 0.0f;
  for (uint u = lane; u < last; u += width) {
    const float e = exp(r[u] - mx);
    r[u] = e;
    s += e;
  }
  const float inv = 1.0f / simd_sum(s);
  for (uint u = lane; u < last; u += width) r[u] *= inv;
  for (uint u = last + lane; u < end; u += width) r[u] = 0.0f;
}

// dS = P (x) (dP - sum P (x) dP) / sqrt(hs) in place of dP, causal rows; sa, ss: the attention and
// softmax faults' signs, applied where the CPU step applies them.
kernel void train_softmax_causal_bwd(device const float* att [[buffer(0)]], device float* ds [[buffer(1)]],
                                     constant SoftmaxArgs& a [[buffer(2)]], ROW_IDS) {
  const uint row = group * simds + simd;
  const bool live = row < a.rows;
  const uint last = live ? row % a.T + 1 : 0, end = live ? a.T : 0;
  device const float* p = att + ulong(row) * a.T;
  device float* g = ds + ulong(row) * a.T;
  float s = 0.0f;
  for (uint u = lane; u < last; u += width) s += p[u] * g[u];
  const float inner = simd_sum(s) * a.sa;
  for (uint u = lane; u < last; u += width) g[u] = a.ss * p[u] * (a.sa * g[u] - inner) * a.scale;
  for (uint u = last + lane; u < end; u += width) g[u] = 0.0f;
}

// Y[t][j] of head h = sum_{u <= t} P[t][u] V[u][j], one thread per element of the N x d output.
kernel void train_attention_values(device const float* att [[buffer(0)]], device const float* qkv [[buffer(1)]],
                                   device float* out [[buffer(2)]], constant AttentionArgs& a [[buffer(3)]],
                                   uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const uint n = i / a.d, c = i % a.d, b = n / a.T, t = n % a.T, h = c / a.hs;
  const ulong d3 = 3 * ulong(a.d);
  const ulong p = (ulong(b * a.H + h) * a.T + t) * a.T;
  const ulong v = ulong(b * a.T) * d3 + 2 * a.d + c;
  float s = 0.0f;
  for (uint u = 0; u <= t; u++) s += att[p + u] * qkv[v + u * d3];
  out[i] = s;
}

// One thread per element of dqkv (N x 3d): dQ[t] = sum_{u <= t} dS[t][u] K[u],
// dK[u] = sum_{t >= u} dS[t][u] Q[t], dV[u] = sa x sum_{t >= u} P[t][u] dY[t].
kernel void train_attention_dqkv(device const float* att [[buffer(0)]], device const float* ds [[buffer(1)]],
                                 device const float* qkv [[buffer(2)]], device const float* dy [[buffer(3)]],
                                 device float* dqkv [[buffer(4)]], constant AttentionArgs& a [[buffer(5)]],
                                 uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const uint d3 = 3 * a.d;
  const uint n = i / d3, c = i % d3, part = c / a.d, cc = c % a.d;
  const uint b = n / a.T, t = n % a.T, h = cc / a.hs;
  const ulong first = ulong(b * a.T);                    // the sequence's first row
  const ulong square = ulong(b * a.H + h) * a.T * a.T;  // this head's T x T block
  float s = 0.0f;
  if (part == 0) {
    const ulong k = first * d3 + a.d + cc;
    for (uint u = 0; u <= t; u++) s += ds[square + ulong(t) * a.T + u] * qkv[k + ulong(u) * d3];
  } else if (part == 1) {
    const ulong q = first * d3 + cc;
    for (uint r = t; r < a.T; r++) s += ds[square + ulong(r) * a.T + t] * qkv[q + ulong(r) * d3];
  } else {
    const ulong y = first * a.d + cc;
    for (uint r = t; r < a.T; r++) s += att[square + ulong(r) * a.T + t] * dy[y + ulong(r) * a.d];
    s = a.sa * s;
  }
  dqkv[i] = s;
}

// tanh through one exponential, as the CPU step computes it: sign(x) (1 - e^(-2|x|)) / (1 + e^(-2|x|)).
inline float tanh_one_exp(float x) {
  const float t = exp(-2.0f * fabs(x));
  return copysign((1.0f - t) / (1.0f + t), x);
}

kernel void train_gelu(device const float* x [[buffer(0)]], device float* out [[buffer(1)]],
                       constant GeluArgs& a [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const float v = x[i];
  out[i] = 0.5f * v * (1.0f + tanh_one_exp(a.c * (v + 0.044715f * v * v * v)));
}

kernel void train_gelu_bwd(device const float* x [[buffer(0)]], device const float* dout [[buffer(1)]],
                           device float* dx [[buffer(2)]], constant GeluArgs& a [[buffer(3)]],
                           uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const float v = x[i];
  const float th = tanh_one_exp(a.c * (v + 0.044715f * v * v * v));
  const float grad = 0.5f * (1.0f + th) + 0.5f * v * (1.0f - th * th) * a.c * (1.0f + 3.0f * 0.044715f * v * v);
  dx[i] = a.sign * grad * dout[i];
}

// Softmax of a logits row in place (kept for backward) and its cross-entropy. The CPU step sums the
// exponentials in double; Metal has none, so each lane's sum is compensated (Kahan) instead.
kernel void train_cross_entropy(device float* logits [[buffer(0)]], device const int* targets [[buffer(1)]],
                                device float* losses [[buffer(2)]], constant CrossEntropyArgs& a [[buffer(3)]],
                                ROW_IDS) {
  const uint row = group * simds + simd;
  const uint V = row < a.rows ? a.V : 0;
  device float* r = logits + ulong(row) * a.V;
  float mx = -INFINITY;
  for (uint v = lane; v < V; v += width) {
    const float x = r[v];
    mx = max(mx, x);
  }
  mx = simd_max(mx);
  float s = 0.0f, lost = 0.0f;
  for (uint v = lane; v < V; v += width) {
    const float e = exp(r[v] - mx);
    r[v] = e;
    const float y = e - lost;
    const float t = s + y;
    lost = (t - s) - y;
    s = t;
  }
  const float inv = 1.0f / simd_sum(s - lost);
  if (V == 0) return;
  const uint target = uint(targets[row]);
  for (uint v = lane; v < V; v += width) {
    const float p = r[v] * inv;
    r[v] = p;
    if (v == target) losses[row] = -log(p);
  }
}

// dlogits = (probs - onehot) x factor in place (factor: the fault's sign x loss scale / N).
kernel void train_cross_entropy_bwd(device float* probs [[buffer(0)]], device const int* targets [[buffer(1)]],
                                    constant CrossEntropyArgs& a [[buffer(2)]],
                                    uint2 pos [[thread_position_in_grid]]) {
  if (pos.x >= a.V || pos.y >= a.rows) return;
  const ulong at = ulong(pos.y) * a.V + pos.x;
  float p = probs[at];
  if (pos.x == uint(targets[pos.y])) p -= 1.0f;
  probs[at] = p * a.factor;
}

// dwte[token n] += sign x dres[n]: rows of wte repeat across positions, so one thread per column
// walks every position in order (no atomics), as the CPU step splits the columns.
kernel void train_embedding_wte(device const float* dres [[buffer(0)]], device const int* tokens [[buffer(1)]],
                                device float* dwte [[buffer(2)]], constant EmbeddingArgs& a [[buffer(3)]],
                                uint c [[thread_position_in_grid]]) {
  if (c >= a.d) return;
  for (uint n = 0; n < a.N; n++) dwte[ulong(tokens[n]) * a.d + c] += a.sign * dres[ulong(n) * a.d + c];
}

// dwpe[t] = sum over the batch of sign x dres[b T + t], overwritten (0 for positions past seq).
kernel void train_embedding_wpe(device const float* dres [[buffer(0)]], device float* dwpe [[buffer(1)]],
                                constant EmbeddingArgs& a [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const uint t = i / a.d, c = i % a.d;
  float s = 0.0f;
  if (t < a.T) {
    for (uint n = t; n < a.N; n += a.T) s += a.sign * dres[ulong(n) * a.d + c];
  }
  dwpe[i] = s;
}

// g *= 1 / scale, flagging a non-finite scaled gradient (by its exponent bits, whatever the compiler
// assumes about infinities).
kernel void train_unscale(device float* g [[buffer(0)]], device uint* overflow [[buffer(1)]],
                          constant UnscaleArgs& a [[buffer(2)]], uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const float v = g[i];
  if ((as_type<uint>(v) & 0x7f800000u) == 0x7f800000u) overflow[0] = 1u;
  g[i] = v * a.inv;
}

kernel void train_adamw(device float* p [[buffer(0)]], device const float* g [[buffer(1)]],
                        device float* m [[buffer(2)]], device float* v [[buffer(3)]],
                        constant AdamArgs& a [[buffer(4)]], uint i [[thread_position_in_grid]]) {
  if (i >= a.n) return;
  const float gi = g[i];
  const float mi = a.b1 * m[i] + a.a1 * gi;
  const float vi = a.b2 * v[i] + a.a2 * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] -= a.lr * ((mi / a.c1) / (sqrt(vi / a.c2) + a.eps) + a.wd * p[i]);
}
)MSL";

}  // namespace gpubench::metal
