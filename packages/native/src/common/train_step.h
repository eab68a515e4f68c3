// What every native backend's training step shares beyond the contract (train.h): where each
// parameter and activation sits in the flat buffers (core's parameterLayout and
// activationElementsOf), and the order of a step's kernels through the transformer blocks. A
// backend supplies the kernels (an object K with the methods forwardBlocks/backwardBlocks call)
// and owns the memory; the step's structure is written once, here.
#pragma once

#include <algorithm>
#include <cstdint>
#include <vector>

#include "train.h"

namespace gpubench {

struct TrainLayerParams {
  float *ln1w, *ln1b, *qkvw, *qkvb, *projw, *projb, *ln2w, *ln2b, *fcw, *fcb, *fcprojw, *fcprojb;
};

/** What a block keeps for backward. */
struct TrainLayerActs {
  float *ln1, *ln1Mean, *ln1Rstd, *qkv, *att, *attY, *res2, *ln2, *ln2Mean, *ln2Rstd, *fc, *gelu, *res3;
};

/** Pointers into a backend's parameter and activation buffers. */
struct TrainBuffers {
  float *wte = nullptr, *wpe = nullptr, *lnfw = nullptr, *lnfb = nullptr;
  std::vector<TrainLayerParams> layers;
  std::vector<TrainLayerActs> acts;
  float *encoded = nullptr, *lnf = nullptr, *lnfMean = nullptr, *lnfRstd = nullptr, *logits = nullptr,
        *losses = nullptr;
  /** One block's worth of activation gradients, reused by every block. */
  float *dres = nullptr, *dln = nullptr, *dattY = nullptr, *dqkv = nullptr, *dfc = nullptr, *dgelu = nullptr;

  static int64_t parameterCount(const TrainConfig& c) {
    const int64_t d = c.dModel;
    const int64_t perLayer = 4 * d + 3 * d * d + 3 * d + d * d + d + d * c.mlp + c.mlp + c.mlp * d + d;
    return c.vocab * d + c.positions * d + c.layers * perLayer + 2 * d;
  }

  /** Elements of the attention probabilities of one block (B·H·T·T). */
  static int64_t attentionFloats(const TrainConfig& c) { return c.batch * c.heads * c.seq * c.seq; }

  /** Floats of every activation and activation gradient (the attention's gradient, attentionFloats, apart). */
  static int64_t activationFloats(const TrainConfig& c) {
    const int64_t d = c.dModel, N = c.batch * c.seq;
    const int64_t perLayer = N * (8 * d + 2 * c.mlp + 4) + attentionFloats(c);
    const int64_t saved = c.layers * perLayer + N * d + (N * d + 2 * N) + N * c.vocab + N;
    return saved + N * (6 * d + 2 * c.mlp);
  }

  /** Elements of the largest operand or result of one product (mixed precision's f16 staging buffers). */
  static int64_t largestProductOperand(const TrainConfig& c) {
    const int64_t d = c.dModel, N = c.batch * c.seq;
    const int64_t wide = std::max({c.vocab, 3 * d, c.mlp});
    return std::max({N * wide, c.vocab * d, 3 * d * d, d * c.mlp});
  }

  /** Points every field into `params` (parameterCount floats) and `activations` (activationFloats floats). */
  void bind(const TrainConfig& c, float* params, float* activations) {
    const int64_t d = c.dModel, N = c.batch * c.seq, att = attentionFloats(c);
    float* p = params;
    auto param = [&](int64_t size) {
      float* at = p;
      p += size;
      return at;
    };
    wte = param(c.vocab * d);
    wpe = param(c.positions * d);
    layers.resize((size_t)c.layers);
    for (auto& l : layers) {
      l.ln1w = param(d), l.ln1b = param(d), l.qkvw = param(d * 3 * d), l.qkvb = param(3 * d);
      l.projw = param(d * d), l.projb = param(d), l.ln2w = param(d), l.ln2b = param(d);
      l.fcw = param(d * c.mlp), l.fcb = param(c.mlp), l.fcprojw = param(c.mlp * d), l.fcprojb = param(d);
    }
    lnfw = param(d);
    lnfb = param(d);
    float* a = activations;
    auto take = [&](int64_t size) {
      float* at = a;
      a += size;
      return at;
    };
    encoded = take(N * d);
    acts.resize((size_t)c.layers);
    for (auto& l : acts) {
      l.ln1 = take(N * d), l.ln1Mean = take(N), l.ln1Rstd = take(N), l.qkv = take(N * 3 * d), l.att = take(att);
      l.attY = take(N * d), l.res2 = take(N * d), l.ln2 = take(N * d), l.ln2Mean = take(N), l.ln2Rstd = take(N);
      l.fc = take(N * c.mlp), l.gelu = take(N * c.mlp), l.res3 = take(N * d);
    }
    lnf = take(N * d), lnfMean = take(N), lnfRstd = take(N), logits = take(N * c.vocab), losses = take(N);
    dres = take(N * d), dln = take(N * d), dattY = take(N * d), dqkv = take(N * 3 * d);
    dfc = take(N * c.mlp), dgelu = take(N * c.mlp);
  }

  /** The last block's output (the final LayerNorm's input). */
  const float* lastOutput() const { return acts.empty() ? encoded : acts.back().res3; }
};

/** The blocks of a forward from b.encoded, then the final LayerNorm into b.lnf. */
template <class K>
void forwardBlocks(K& k, const TrainBuffers& b, const TrainConfig& c) {
  const int64_t d = c.dModel, N = c.batch * c.seq, mlp = c.mlp;
  const float* x = b.encoded;
  for (size_t l = 0; l < b.layers.size(); l++) {
    const TrainLayerParams& p = b.layers[l];
    const TrainLayerActs& a = b.acts[l];
    k.layerNorm(a.ln1, a.ln1Mean, a.ln1Rstd, x, p.ln1w, p.ln1b);
    k.matmul(a.qkv, a.ln1, p.qkvw, N, d, 3 * d);
    k.addBias(a.qkv, p.qkvb, nullptr, N, 3 * d);
    k.attention(a.attY, a.att, a.qkv);
    k.matmul(a.res2, a.attY, p.projw, N, d, d);
    k.addBias(a.res2, p.projb, x, N, d);
    k.layerNorm(a.ln2, a.ln2Mean, a.ln2Rstd, a.res2, p.ln2w, p.ln2b);
    k.matmul(a.fc, a.ln2, p.fcw, N, d, mlp);
    k.addBias(a.fc, p.fcb, nullptr, N, mlp);
    k.gelu(a.gelu, a.fc, N * mlp);
    k.matmul(a.res3, a.gelu, p.fcprojw, N, mlp, d);
    k.addBias(a.res3, p.fcprojb, a.res2, N, d);
    x = a.res3;
  }
  k.layerNorm(b.lnf, b.lnfMean, b.lnfRstd, x, b.lnfw, b.lnfb);
}

/**
 * The final LayerNorm's backward from b.dln (the head's input gradient) into b.dres, which the
 * caller has zeroed, then the blocks in reverse: b.dres ends as the gradient of b.encoded.
 * `k.grad(p)` is a parameter's gradient (the same offset in the gradient buffer).
 */
template <class K>
void backwardBlocks(K& k, const TrainBuffers& b, const TrainConfig& c) {
  const int64_t d = c.dModel, N = c.batch * c.seq, mlp = c.mlp;
  k.layerNormBackward(b.dres, k.grad(b.lnfw), k.grad(b.lnfb), b.dln, b.lastOutput(), b.lnfMean, b.lnfRstd, b.lnfw);
  for (size_t l = b.layers.size(); l-- > 0;) {
    const TrainLayerParams& p = b.layers[l];
    const TrainLayerActs& a = b.acts[l];
    const float* input = l == 0 ? b.encoded : b.acts[l - 1].res3;
    // res3 = res2 + fcproj(gelu(fc(ln2(res2)))): dres holds d res3, then d res2.
    k.matmulBackward(b.dgelu, k.grad(p.fcprojw), k.grad(p.fcprojb), b.dres, a.gelu, p.fcprojw, N, mlp, d);
    k.geluBackward(b.dfc, b.dgelu, a.fc, N * mlp);
    k.matmulBackward(b.dln, k.grad(p.fcw), k.grad(p.fcb), b.dfc, a.ln2, p.fcw, N, d, mlp);
    k.layerNormBackward(b.dres, k.grad(p.ln2w), k.grad(p.ln2b), b.dln, a.res2, a.ln2Mean, a.ln2Rstd, p.ln2w);
    // res2 = input + proj(attention(qkv(ln1(input)))): dres becomes d input.
    k.matmulBackward(b.dattY, k.grad(p.projw), k.grad(p.projb), b.dres, a.attY, p.projw, N, d, d);
    k.attentionBackward(b.dqkv, b.dattY, a.qkv, a.att);
    k.matmulBackward(b.dln, k.grad(p.qkvw), k.grad(p.qkvb), b.dqkv, a.ln1, p.qkvw, N, d, 3 * d);
    k.layerNormBackward(b.dres, k.grad(p.ln1w), k.grad(p.ln1b), b.dln, input, a.ln1Mean, a.ln1Rstd, p.ln1w);
  }
}

}  // namespace gpubench
