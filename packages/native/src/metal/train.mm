// The training step on Metal (common/train.h): the CPU's step (cpu/train.cpp) kernel by kernel,
// through the blocks in common/train_step.h's order. Products run on MPSMatrixMultiplication
// (encodeGemm); every other kernel is MSL (train_shaders.h), attention included (its per-head
// products have rows 3d apart inside qkv). With f16, mixed precision as the CPU's: f16 operands and
// results of every product, f32 master weights, AdamW state, element-wise kernels and attention, a
// scaled loss, and a step whose scaled gradients overflow skipped.
//
// Every parameter tensor has buffers of its own (weight, gradient, moments, f16 copy), and so has
// every activation, so that each product's operands start at offset 0 as encodeGemm takes them;
// storage is shared (unified memory), so the host copies the flat layout in and out tensor by
// tensor with memcpy, and a buffer is named by its `contents` pointer where train_step.h passes
// float pointers. Everything is allocated at preparation; a timed step allocates no memory.
//
// Timing: one command buffer per phase (forward, backward, optimizer), committed and waited; a
// phase's time is its GPUEndTime - GPUStartTime. Device memory is the device's currentAllocatedSize
// after each step. No energy: macOS has no per-process GPU energy counter without root.
// UNTESTED here: no macOS machine in reach; built and run by .github/workflows/macos-native.yml.
#import <Metal/Metal.h>

#include <sys/resource.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <functional>
#include <initializer_list>
#include <limits>
#include <map>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "../common/train_step.h"
#include "backend.h"
#include "context.h"
#include "train_shaders.h"

namespace gpubench::metal {

namespace {

using namespace train_args;

/** Threads per threadgroup of every kernel (the column kernels' 32 columns x 8 row lanes). */
constexpr NSUInteger kGroup = 256;

std::string describe(NSError* error) {
  return error && error.localizedDescription ? error.localizedDescription.UTF8String : "no error description";
}

/** The training kernels' library, compiled once per process with fast math off (train_shaders.h says why). */
id<MTLLibrary> trainLibrary() {
  static std::mutex mutex;
  static id<MTLLibrary> library = nil;
  std::lock_guard<std::mutex> lock(mutex);
  if (library) return library;
  MTLCompileOptions* options = [[MTLCompileOptions alloc] init];
#pragma clang diagnostic push
#pragma clang diagnostic ignored "-Wdeprecated-declarations"
  options.fastMathEnabled = NO;  // mathMode replaces it from the macOS 15 SDK on; older SDKs have only this
#pragma clang diagnostic pop
  NSError* error = nil;
  library = [context().device newLibraryWithSource:[NSString stringWithUTF8String:kTrainShaderSource]
                                           options:options
                                             error:&error];
  if (!library) throw NativeError("compiling the training kernels failed: " + describe(error));
  return library;
}

/** Sizes are checked against 32 bits at preparation (the kernels' indices); this only narrows. */
inline uint u32(int64_t v) { return static_cast<uint>(v); }

/** A parameter tensor: its offset in core's flat layout, its shape as a product's operand (1 x n for vectors). */
struct Tensor {
  int64_t offset = 0, rows = 1, cols = 0;
  id<MTLBuffer> p = nil, g = nil, m = nil, v = nil;
  /** f16: the weight's f16 copy, refreshed at the start of each forward. */
  id<MTLBuffer> h = nil;
  int64_t size() const { return rows * cols; }
  size_t bytes() const { return (size_t)size() * 4; }
};

class MetalTrainSession final : public TrainSessionBase {
 public:
  explicit MetalTrainSession(const TrainConfig& c) : TrainSessionBase(c) {
    id<MTLDevice> device = context().device;
    deviceName_ = device.name.UTF8String;
    workingSet_ = (double)device.recommendedMaxWorkingSetSize;
    const int64_t d = c.dModel, T = c.seq, N = c.batch * T, V = c.vocab, mlp = c.mlp;
    const int64_t att = TrainBuffers::attentionFloats(c);

    // The kernels index with 32 bits (rows x cols grids take each side apart).
    const int64_t widest = std::max({N * 3 * d, N * mlp, V * d, c.positions * d, d * mlp});
    if (widest > (int64_t)std::numeric_limits<uint32_t>::max())
      throw NativeError("the Metal training step indexes its kernels with 32 bits; a tensor of " +
                        std::to_string(widest) + " elements is too large");
    // Parameters, gradients, moments; activations and their gradients (core's activationElementsOf), the
    // attention's gradient, tokens, the overflow flag; with f16 the weights' copies and one product's operands.
    const int64_t count = TrainBuffers::parameterCount(c), largest = TrainBuffers::largestProductOperand(c);
    const double need = 4.0 * (4.0 * (double)count + (double)(TrainBuffers::activationFloats(c) + att + 2 * N + 1)) +
                        (f16_ ? 2.0 * (double)(count + 3 * largest) : 0.0);
    if (need > workingSet_)
      throw NativeError("the training step needs " + formatBytes(need) + ", more than the " + formatBytes(workingSet_) +
                        " recommended working set (recommendedMaxWorkingSetSize) of " + deviceName_);

    // Parameters, in core's layout (parameterLayout), a tensor's buffers each.
    auto param = [&](float** slot, int64_t rows, int64_t cols) {
      Tensor t;
      t.offset = count_;
      t.rows = rows;
      t.cols = cols;
      t.p = allocate(t.size(), 4, "parameters"), t.g = allocate(t.size(), 4, "gradients");
      t.m = allocate(t.size(), 4, "AdamW's m"), t.v = allocate(t.size(), 4, "AdamW's v");
      if (f16_) t.h = allocate(t.size(), 2, "f16 weights");
      *slot = track(t.p);
      track(t.g);
      tensorOf_[t.p.contents] = tensors_.size();
      tensors_.push_back(t);
      count_ += t.size();
    };
    param(&b_.wte, V, d);
    param(&b_.wpe, c.positions, d);
    b_.layers.resize((size_t)c.layers);
    for (auto& l : b_.layers) {
      param(&l.ln1w, 1, d), param(&l.ln1b, 1, d), param(&l.qkvw, d, 3 * d), param(&l.qkvb, 1, 3 * d);
      param(&l.projw, d, d), param(&l.projb, 1, d), param(&l.ln2w, 1, d), param(&l.ln2b, 1, d);
      param(&l.fcw, d, mlp), param(&l.fcb, 1, mlp), param(&l.fcprojw, mlp, d), param(&l.fcprojb, 1, d);
    }
    param(&b_.lnfw, 1, d);
    param(&b_.lnfb, 1, d);
    if (count_ != count) throw NativeError("the Metal parameter layout disagrees with train_step.h's");
    // Activations, as TrainBuffers::bind lays them out, a buffer each.
    auto act = [&](int64_t elements) { return track(allocate(elements, 4, "activations")); };
    b_.encoded = act(N * d);
    b_.acts.resize((size_t)c.layers);
    for (auto& l : b_.acts) {
      l.ln1 = act(N * d), l.ln1Mean = act(N), l.ln1Rstd = act(N), l.qkv = act(N * 3 * d), l.att = act(att);
      l.attY = act(N * d), l.res2 = act(N * d), l.ln2 = act(N * d), l.ln2Mean = act(N), l.ln2Rstd = act(N);
      l.fc = act(N * mlp), l.gelu = act(N * mlp), l.res3 = act(N * d);
    }
    b_.lnf = act(N * d), b_.lnfMean = act(N), b_.lnfRstd = act(N), b_.logits = act(N * V), b_.losses = act(N);
    b_.dres = act(N * d), b_.dln = act(N * d), b_.dattY = act(N * d), b_.dqkv = act(N * 3 * d);
    b_.dfc = act(N * mlp), b_.dgelu = act(N * mlp);
    datt_ = allocate(att, 4, "the attention's gradient");
    inputs_ = allocate(N, 4, "tokens"), targets_ = allocate(N, 4, "tokens");
    overflow_ = allocate(1, 4, "the overflow flag");
    if (f16_) {
      a16_ = allocate(largest, 2, "f16 operands"), b16_ = allocate(largest, 2, "f16 operands");
      c16_ = allocate(largest, 2, "f16 results");
      f16Note_ = mpsF16AccumulationNote();
    }

    // A pipeline per kernel of the library now, so that no step compiles.
    id<MTLLibrary> library = trainLibrary();
    for (NSString* name in library.functionNames) {
      id<MTLFunction> fn = [library newFunctionWithName:name];
      if (!fn || fn.functionType != MTLFunctionTypeKernel) continue;
      NSError* error = nil;
      id<MTLComputePipelineState> state = [device newComputePipelineStateWithFunction:fn error:&error];
      if (!state) throw NativeError(std::string("pipeline '") + name.UTF8String + "': " + describe(error));
      if (state.maxTotalThreadsPerThreadgroup < kGroup)
        throw NativeError(std::string("pipeline '") + name.UTF8String + "' takes at most " +
                          std::to_string((unsigned long)state.maxTotalThreadsPerThreadgroup) +
                          " threads per threadgroup");
      pipelines_[name.UTF8String] = state;
    }
    peakDeviceBytes_ = (double)device.currentAllocatedSize;
  }

  int64_t parameterCount() const override { return count_; }

  void setParameters(const float* data, int64_t count) override {
    expect(count, "parameters");
    for (const auto& t : tensors_) {
      std::memcpy(t.p.contents, data + t.offset, t.bytes());
      std::memset(t.m.contents, 0, t.bytes());
      std::memset(t.v.contents, 0, t.bytes());
    }
    step_ = 0;
    scaler_.reset(c_.initialLossScale);
  }

  void setGradients(const float* data, int64_t count) override {
    expect(count, "gradients");
    for (const auto& t : tensors_) std::memcpy(t.g.contents, data + t.offset, t.bytes());
  }

  void read(const std::string& name, float* out, int64_t count) override {
    expect(count, "elements");
    const int kind = name == "parameters" ? 0 : name == "gradients" ? 1 : name == "m" ? 2 : name == "v" ? 3 : -1;
    if (kind < 0) throw NativeError("no training buffer named '" + name + "'");
    for (const auto& t : tensors_) {
      id<MTLBuffer> from = kind == 0 ? t.p : kind == 1 ? t.g : kind == 2 ? t.m : t.v;
      std::memcpy(out + t.offset, from.contents, t.bytes());
    }
  }

  void setTokens(const int32_t* data, int64_t count) override {
    splitTokens(c_, data, count, static_cast<int32_t*>(inputs_.contents), static_cast<int32_t*>(targets_.contents));
    haveTokens_ = true;
  }

  void poisonGradients() override {
    for (const auto& t : tensors_)
      std::fill_n(static_cast<float*>(t.g.contents), t.size(), std::numeric_limits<float>::quiet_NaN());
  }

  double forwardBackward() override {
    forward();
    backward();
    return loss_;
  }

  void optimizerStep() override { adamw(); }

  TrainStepTimes timedStep() override {
    TrainStepTimes s;
    s.forwardNs = forward();
    s.loss = loss_;
    s.backwardNs = backward();
    s.lossScale = f16_ ? scaler_.scale : 1.0;
    s.skipped = f16_ && scaler_.afterBackward(overflowed_);
    s.optimizerNs = s.skipped ? 0.0 : adamw();
    s.stepNs = s.forwardNs + s.backwardNs + s.optimizerNs;
    s.deviceBytes = (double)context().device.currentAllocatedSize;
    peakDeviceBytes_ = std::max(peakDeviceBytes_, s.deviceBytes);
    return s;  // energyJoules stays NaN (energySource says why)
  }

  std::string energySource() const override {
    return "unavailable: macOS exposes no per-process GPU energy counter without privileges (powermetrics needs root)";
  }

  double peakDeviceBytes() const override { return peakDeviceBytes_; }

  std::vector<std::string> notes() const override {
    std::vector<std::string> out;
    out.push_back(std::string("training kernels: ") + (f16_ ? "f16 mixed precision, " : "f32, ") +
                  "own MSL kernels (attention over the causal pairs only) on " + deviceName_ +
                  "; gemm: MPSMatrixMultiplication");
    if (f16_) {
      out.push_back(
          "mixed precision: f16 operands and results of every product (MPSDataTypeFloat16), f32 master weights, "
          "AdamW state, element-wise kernels and attention; loss scale now " +
          std::to_string((int64_t)scaler_.scale) + ", " + std::to_string(scaler_.skippedSteps) +
          " steps skipped for overflow so far");
      out.push_back(f16Note_);
    }
    out.push_back("timing: one command buffer per phase (forward, backward, optimizer), each committed and waited; a "
                  "phase's time is its GPUStartTime to GPUEndTime, the step's their sum");
    out.push_back(
        "device memory counted: the Metal device's currentAllocatedSize, this process's buffers on it (unified "
        "memory, shared with the host), of a recommended working set of " +
        formatBytes(workingSet_) + " (recommendedMaxWorkingSetSize)");
    if (fault_ != TrainFault::None) out.push_back("fault injected: " + c_.fault + " (tests only)");
    out.push_back("metal backend: untested in this project's Linux CI; exercised by the macos-native workflow");
    return out;
  }

  // The kernels, public for the step's structure (common/train_step.h) to call; the class is this file's alone.

  /** A parameter's gradient (its tensor's gradient buffer). */
  float* grad(const float* p) const { return static_cast<float*>(tensor(p).g.contents); }

  /** out (N x O) = x (N x I) · W (I x O). */
  void matmul(float* out, const float* x, const float* W, int64_t N, int64_t I, int64_t O) {
    mixed(out, x, W, N, O, I, false, false);
  }

  /** dx (N x I) = dout · Wᵀ; dW (I x O) = xᵀ · dout; db = column sums of dout (none when db is null). */
  void matmulBackward(float* dx, float* dW, float* db, const float* dout, const float* x, const float* W, int64_t N,
                      int64_t I, int64_t O) {
    mixed(dx, dout, W, N, I, O, false, true);
    mixed(dW, x, dout, I, O, N, true, false);
    if (fault_ == TrainFault::LinearInput) negate(dx, N * I);
    if (fault_ == TrainFault::LinearWeight) negate(dW, I * O);
    if (db)
      perColumn("train_column_sums", {buffer(dout), buffer(db)}, ColumnArgs{u32(N), u32(O), signFor(TrainFault::Bias)},
                O);
  }

  /** out[n] += b (+ residual[n] when given). */
  void addBias(float* out, const float* b, const float* residual, int64_t N, int64_t O) {
    elementwise("train_bias_add", {buffer(out), buffer(b), buffer(residual ? residual : out)},
                BiasArgs{u32(N * O), u32(O), residual ? 1u : 0u}, N * O);
  }

  void layerNorm(float* out, float* mean, float* rstd, const float* x, const float* g, const float* b) {
    perRow("train_layernorm", {buffer(x), buffer(g), buffer(b), buffer(out), buffer(mean), buffer(rstd)},
           RowArgs{u32(N()), u32(c_.dModel), kLayerNormEpsilon, 1.0f}, N());
  }

  /** dx += the input's gradient; dg, db = the scale's and shift's (overwritten). */
  void layerNormBackward(float* dx, float* dg, float* db, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* g) {
    const float sign = signFor(TrainFault::LayerNorm);
    perRow("train_layernorm_bwd", {buffer(dout), buffer(x), buffer(mean), buffer(rstd), buffer(g), buffer(dx)},
           RowArgs{u32(N()), u32(c_.dModel), kLayerNormEpsilon, sign}, N());
    perColumn("train_layernorm_params", {buffer(dout), buffer(x), buffer(mean), buffer(rstd), buffer(dg), buffer(db)},
              ColumnArgs{u32(N()), u32(c_.dModel), 1.0f}, c_.dModel);
  }

  /**
   * Causal multi-head attention: out (N x d) and probabilities att (B·H·T·T) from qkv (N x 3d).
   * S = Q·Kᵀ over the causal pairs, the softmax (0 above the diagonal), then Y = P·V.
   */
  void attention(float* out, float* att, const float* qkv) {
    const int64_t T = c_.seq, d = c_.dModel, H = c_.heads, rows = c_.batch * H * T;
    dots(buffer(qkv), 3 * d, 0, buffer(qkv), 3 * d, d, buffer(att));
    perRow("train_softmax_causal", {buffer(att)}, SoftmaxArgs{u32(rows), u32(T), attentionScale(), 1.0f, 1.0f}, rows);
    elementwise("train_attention_values", {buffer(att), buffer(qkv), buffer(out)},
                AttentionArgs{u32(N() * d), u32(T), u32(H), u32(d / H), u32(d), 1.0f}, N() * d);
  }

  /**
   * dqkv (overwritten) from dout (N x d): dP = dY·Vᵀ over the causal pairs, dS = P ⊙ (dP − Σ P⊙dP)/√hs
   * row by row, then dQ = dS·K, dK = dSᵀ·Q, dV = Pᵀ·dY, one thread per element of dqkv.
   */
  void attentionBackward(float* dqkv, const float* dout, const float* qkv, const float* att) {
    const int64_t T = c_.seq, d = c_.dModel, H = c_.heads, rows = c_.batch * H * T;
    const float sa = signFor(TrainFault::Attention);
    const float ss = signFor(TrainFault::Softmax);
    dots(buffer(dout), d, 0, buffer(qkv), 3 * d, 2 * d, datt_);
    perRow("train_softmax_causal_bwd", {buffer(att), datt_}, SoftmaxArgs{u32(rows), u32(T), attentionScale(), sa, ss},
           rows);
    elementwise("train_attention_dqkv", {buffer(att), datt_, buffer(qkv), buffer(dout), buffer(dqkv)},
                AttentionArgs{u32(N() * 3 * d), u32(T), u32(H), u32(d / H), u32(d), sa}, N() * 3 * d);
  }

  void gelu(float* out, const float* x, int64_t n) {
    elementwise("train_gelu", {buffer(x), buffer(out)}, GeluArgs{u32(n), kGeluC, 1.0f}, n);
  }

  void geluBackward(float* dx, const float* dout, const float* x, int64_t n) {
    elementwise("train_gelu_bwd", {buffer(x), buffer(dout), buffer(dx)},
                GeluArgs{u32(n), kGeluC, signFor(TrainFault::Gelu)}, n);
  }

 private:
  // ------------------------------------------------------------ buffers

  int64_t N() const { return c_.batch * c_.seq; }

  id<MTLBuffer> allocate(int64_t elements, int64_t elementBytes, const char* what) {
    id<MTLDevice> device = context().device;
    const NSUInteger length = (NSUInteger)std::max<int64_t>(elements * elementBytes, 4);
    id<MTLBuffer> b = [device newBufferWithLength:length options:MTLResourceStorageModeShared];
    if (!b)
      throw NativeError("allocating " + formatBytes((double)length) + " for " + what +
                        " failed (the device's largest buffer: " + formatBytes((double)device.maxBufferLength) + ")");
    std::memset(b.contents, 0, length);
    return b;
  }

  /** Makes a buffer findable by its contents pointer (the name train_step.h passes); returns that pointer. */
  float* track(id<MTLBuffer> b) {
    buffers_[b.contents] = b;
    return static_cast<float*>(b.contents);
  }

  id<MTLBuffer> buffer(const float* p) const {
    auto found = buffers_.find(p);
    if (found == buffers_.end()) throw NativeError("internal: a training pointer names no Metal buffer");
    return found->second;
  }

  /** The parameter tensor whose weights `p` are, or null. */
  const Tensor* weightAt(const float* p) const {
    auto found = tensorOf_.find(p);
    return found == tensorOf_.end() ? nullptr : &tensors_[found->second];
  }

  const Tensor& tensor(const float* p) const {
    const Tensor* t = weightAt(p);
    if (!t) throw NativeError("internal: a training pointer names no parameter");
    return *t;
  }

  void expect(int64_t count, const char* what) const {
    if (count != count_)
      throw NativeError("expected " + std::to_string(count_) + " " + what + ", got " + std::to_string(count));
  }

  // ------------------------------------------------------------ encoding

  /** Encodes one phase into a fresh command buffer (cb_), commits it and waits; returns its GPU time. */
  template <class F>
  double phase(const char* name, const F& encode) {
    @autoreleasepool {
      cb_ = [context().queue commandBuffer];
      try {
        encode();
      } catch (...) {
        endCompute();
        cb_ = nil;
        throw;
      }
      endCompute();
      id<MTLCommandBuffer> cb = cb_;
      cb_ = nil;
      [cb commit];
      [cb waitUntilCompleted];
      if (cb.status == MTLCommandBufferStatusError)
        throw NativeError(std::string("the ") + name + " command buffer failed: " + describe(cb.error));
      return gpuDurationNs(cb);
    }
  }

  /** The phase's compute encoder, opened on demand and closed around each MPS product. */
  id<MTLComputeCommandEncoder> compute() {
    if (!enc_) enc_ = [cb_ computeCommandEncoder];
    return enc_;
  }

  void endCompute() {
    if (enc_) [enc_ endEncoding];
    enc_ = nil;
  }

  id<MTLComputePipelineState> pipe(const char* kernel) const {
    auto found = pipelines_.find(kernel);  // std::less<>: no string is made
    if (found == pipelines_.end()) throw NativeError(std::string("no training kernel named '") + kernel + "'");
    return found->second;
  }

  /** Sets `kernel` with buffers at indices 0, 1, ... and its arguments after them. */
  template <class Args>
  id<MTLComputeCommandEncoder> bind(const char* kernel, std::initializer_list<id<MTLBuffer>> buffers,
                                    const Args& args) {
    id<MTLComputeCommandEncoder> enc = compute();
    [enc setComputePipelineState:pipe(kernel)];
    NSUInteger index = 0;
    for (id<MTLBuffer> b : buffers) [enc setBuffer:b offset:0 atIndex:index++];
    [enc setBytes:&args length:sizeof(Args) atIndex:index];
    return enc;
  }

  /** One thread per element of [0, n). */
  template <class Args>
  void elementwise(const char* kernel, std::initializer_list<id<MTLBuffer>> buffers, const Args& args, int64_t n) {
    if (n <= 0) return;
    [bind(kernel, buffers, args) dispatchThreads:MTLSizeMake((NSUInteger)n, 1, 1)
                           threadsPerThreadgroup:MTLSizeMake(std::min<NSUInteger>(kGroup, (NSUInteger)n), 1, 1)];
  }

  /** One thread per element of a width x height grid. */
  template <class Args>
  void grid2(const char* kernel, std::initializer_list<id<MTLBuffer>> buffers, const Args& args, int64_t width,
             int64_t height) {
    if (width <= 0 || height <= 0) return;
    const NSUInteger tx = std::min<NSUInteger>(kGroup, (NSUInteger)width);
    const NSUInteger ty = std::min<NSUInteger>(kGroup / tx, (NSUInteger)height);
    [bind(kernel, buffers, args) dispatchThreads:MTLSizeMake((NSUInteger)width, (NSUInteger)height, 1)
                           threadsPerThreadgroup:MTLSizeMake(tx, ty, 1)];
  }

  /** One SIMD group per row, kGroup threads (several rows) per threadgroup. */
  template <class Args>
  void perRow(const char* kernel, std::initializer_list<id<MTLBuffer>> buffers, const Args& args, int64_t rows) {
    if (rows <= 0) return;
    const int64_t perGroup = std::max<int64_t>(1, (int64_t)(kGroup / pipe(kernel).threadExecutionWidth));
    [bind(kernel, buffers, args) dispatchThreadgroups:MTLSizeMake((NSUInteger)((rows + perGroup - 1) / perGroup), 1, 1)
                                threadsPerThreadgroup:MTLSizeMake(kGroup, 1, 1)];
  }

  /** Threadgroups of 32 columns x 8 row lanes (the column reductions). */
  template <class Args>
  void perColumn(const char* kernel, std::initializer_list<id<MTLBuffer>> buffers, const Args& args, int64_t cols) {
    if (cols <= 0) return;
    [bind(kernel, buffers, args) dispatchThreadgroups:MTLSizeMake((NSUInteger)((cols + 31) / 32), 1, 1)
                                threadsPerThreadgroup:MTLSizeMake(32, 8, 1)];
  }

  void negate(float* x, int64_t n) { elementwise("train_negate", {buffer(x)}, Count{u32(n)}, n); }

  // ------------------------------------------------------------ products

  /** rows x cols of f32 into f16 ("train_to_half") or back ("train_to_float"). */
  void convert(const char* kernel, id<MTLBuffer> from, id<MTLBuffer> to, int64_t rows, int64_t cols) {
    grid2(kernel, {from, to}, MatrixArgs{u32(rows), u32(cols)}, cols, rows);
  }

  /**
   * C (f32, m x n) = op(A) · op(B) with A and B f32; f32 products directly, f16 as the CPU's `mixed`:
   * A converted into a16_, B into b16_ unless it is a weight (its f16 copy then), the f16 result
   * converted back into C.
   */
  void mixed(float* C, const float* A, const float* B, int64_t m, int64_t n, int64_t k, bool transA, bool transB) {
    if (!f16_) {
      endCompute();
      encodeGemm(cb_, GemmArgs{buffer(A), buffer(B), buffer(C), m, n, k, 1, transA, transB, false});
      return;
    }
    // Stored shapes, row-major: A is m x k (k x m transposed), B is k x n (n x k transposed).
    convert("train_to_half", buffer(A), a16_, transA ? k : m, transA ? m : k);
    const Tensor* weight = weightAt(B);
    if (!weight) convert("train_to_half", buffer(B), b16_, transB ? n : k, transB ? k : n);
    endCompute();
    encodeGemm(cb_, GemmArgs{a16_, weight ? weight->h : b16_, c16_, m, n, k, 1, transA, transB, true});
    convert("train_to_float", c16_, buffer(C), m, n);
  }

  // ------------------------------------------------------------ attention

  float attentionScale() const { return 1.0f / std::sqrt((float)(c_.dModel / c_.heads)); }

  /**
   * out[bh][t][u] = A[t] · B[u] of each (batch, head) for u <= t; the rows of A are strideA apart and
   * start at column colA (plus the head's), likewise B.
   */
  void dots(id<MTLBuffer> A, int64_t strideA, int64_t colA, id<MTLBuffer> B, int64_t strideB, int64_t colB,
            id<MTLBuffer> out) {
    const int64_t T = c_.seq, H = c_.heads;
    const NSUInteger side = std::min<NSUInteger>(16, (NSUInteger)T);
    id<MTLComputeCommandEncoder> enc =
        bind("train_attention_dots", {A, B, out},
             DotArgs{u32(T), u32(H), u32(c_.dModel / H), u32(strideA), u32(colA), u32(strideB), u32(colB)});
    [enc dispatchThreads:MTLSizeMake((NSUInteger)T, (NSUInteger)T, (NSUInteger)(c_.batch * H))
        threadsPerThreadgroup:MTLSizeMake(side, side, 1)];
  }

  // ------------------------------------------------------------ the step

  void encodeForward() {
    const int64_t d = c_.dModel, T = c_.seq, N = this->N(), V = c_.vocab;
    if (f16_)
      for (const auto& t : tensors_)
        convert("train_to_half", t.p, t.h, t.rows, t.cols);  // autocast's cast of the master weights
    elementwise("train_encode", {inputs_, buffer(b_.wte), buffer(b_.wpe), buffer(b_.encoded)},
                EncodeArgs{u32(N * d), u32(d), u32(T)}, N * d);
    forwardBlocks(*this, b_, c_);
    // Tied head: logits = lnf · wteᵀ (wte is V x d); then the softmax in place (kept for backward)
    // and the cross-entropy per position.
    mixed(b_.logits, b_.lnf, b_.wte, N, V, d, false, true);
    perRow("train_cross_entropy", {buffer(b_.logits), targets_, buffer(b_.losses)},
           CrossEntropyArgs{u32(N), u32(V), 1.0f}, N);
  }

  void encodeBackward() {
    const int64_t d = c_.dModel, T = c_.seq, N = this->N(), V = c_.vocab;
    // Cross-entropy: dlogits = (probs − onehot) / N in place; with f16 the loss is scaled (and every
    // activation gradient with it), the gradients unscaled at the end.
    const float sce = signFor(TrainFault::CrossEntropy);
    const float invN = (f16_ ? scaler_.scale : 1.0f) / (float)N;
    grid2("train_cross_entropy_bwd", {buffer(b_.logits), targets_}, CrossEntropyArgs{u32(N), u32(V), sce * invN}, V, N);
    // Head: dlnf = dlogits · wte; dwte = dlogitsᵀ · lnf (the embedding's scatter-add comes last).
    mixed(b_.dln, b_.logits, b_.wte, N, d, V, false, false);
    mixed(grad(b_.wte), b_.logits, b_.lnf, V, d, N, true, false);
    if (fault_ == TrainFault::Head) {
      negate(b_.dln, N * d);
      negate(grad(b_.wte), V * d);
    }
    elementwise("train_fill", {buffer(b_.dres)}, FillArgs{u32(N * d), 0.0f}, N * d);
    backwardBlocks(*this, b_, c_);
    // Embeddings: scatter-add into the token's row of wte; the position's row of wpe, overwritten.
    const float se = signFor(TrainFault::Embedding);
    elementwise("train_embedding_wte", {buffer(b_.dres), inputs_, buffer(grad(b_.wte))},
                EmbeddingArgs{u32(d), u32(N), u32(T), u32(d), se}, d);
    const int64_t pe = c_.positions * d;
    elementwise("train_embedding_wpe", {buffer(b_.dres), buffer(grad(b_.wpe))},
                EmbeddingArgs{u32(pe), u32(N), u32(T), u32(d), se}, pe);
    if (f16_) {
      // Checks the scaled gradients for overflow (then the step is skipped) and divides them by the scale.
      const float inv = 1.0f / scaler_.scale;
      for (const auto& t : tensors_)
        elementwise("train_unscale", {t.g, overflow_}, UnscaleArgs{u32(t.size()), inv}, t.size());
    }
  }

  /** The forward phase; sets loss_ (the per-row losses summed in double, over N). Returns its GPU time. */
  double forward() {
    if (!haveTokens_) throw NativeError("no tokens uploaded: call setTokens first");
    const double ns = phase("forward", [&] { encodeForward(); });
    double loss = 0;
    for (int64_t n = 0; n < N(); n++) loss += b_.losses[n];
    loss_ = loss / (double)N();
    return ns;
  }

  /** The backward phase; with f16 it reads the overflow flag. Returns its GPU time. */
  double backward() {
    if (f16_) *static_cast<uint32_t*>(overflow_.contents) = 0;
    const double ns = phase("backward", [&] { encodeBackward(); });
    overflowed_ = f16_ && *static_cast<const uint32_t*>(overflow_.contents) != 0;
    return ns;
  }

  /** AdamW as core's referenceAdamW, over every parameter. Returns its GPU time. */
  double adamw() {
    step_ += 1;
    // Constants in double, rounded once: 1 − β and the bias corrections as exact as f32 holds them.
    AdamArgs a{0,
               (float)c_.beta1,
               (float)c_.beta2,
               (float)c_.learningRate,
               (float)c_.epsilon,
               (float)c_.weightDecay,
               (float)(1.0 - c_.beta1),
               (float)(1.0 - c_.beta2),
               (float)(1.0 - std::pow(c_.beta1, (double)step_)),
               (float)(1.0 - std::pow(c_.beta2, (double)step_))};
    return phase("optimizer", [&] {
      for (const auto& t : tensors_) {
        a.n = u32(t.size());
        elementwise("train_adamw", {t.p, t.g, t.m, t.v}, a, t.size());
      }
    });
  }

  /** f16: the scaled gradients of the last backward overflowed; its update must be skipped. */
  bool overflowed_ = false;
  std::string deviceName_, f16Note_;
  double workingSet_ = 0, peakDeviceBytes_ = 0, loss_ = 0;
  int64_t count_ = 0, step_ = 0;
  bool haveTokens_ = false;
  std::vector<Tensor> tensors_;
  /** A parameter tensor by its weights' contents pointer. */
  std::unordered_map<const void*, size_t> tensorOf_;
  /** Every buffer train_step.h names (parameters, gradients, activations), by its contents pointer. */
  std::unordered_map<const void*, id<MTLBuffer>> buffers_;
  TrainBuffers b_;
  id<MTLBuffer> datt_ = nil, inputs_ = nil, targets_ = nil, overflow_ = nil;
  /** f16: one product's operands and result at a time. */
  id<MTLBuffer> a16_ = nil, b16_ = nil, c16_ = nil;
  std::map<std::string, id<MTLComputePipelineState>, std::less<>> pipelines_;
  id<MTLCommandBuffer> cb_ = nil;
  id<MTLComputeCommandEncoder> enc_ = nil;
};

}  // namespace

std::unique_ptr<TrainSession> prepareTraining(const TrainConfig& config) {
  const MetalProbe p = probe();
  if (!p.available) throw NativeError("Metal unavailable: " + p.reason);
  @autoreleasepool {
    return std::make_unique<MetalTrainSession>(config);
  }
}

}  // namespace gpubench::metal
