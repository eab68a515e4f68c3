// GEMM on Metal: MPSMatrixMultiplication over the batch (f32, or f16 storage). MPS chooses the
// accumulation precision of f16 and Apple does not document it: mpsF16AccumulationNote checks it
// once per process, and the runnable's notes say what it found.
#import <MetalPerformanceShaders/MetalPerformanceShaders.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include "../common/f16.h"
#include "../common/random.h"
#include "context.h"

namespace gpubench::metal {

void encodeGemm(id<MTLCommandBuffer> cb, const GemmArgs& g) {
  const MPSDataType type = g.f16 ? MPSDataTypeFloat16 : MPSDataTypeFloat32;
  const NSUInteger e = g.f16 ? 2 : 4;
  // Stored shapes, row-major: A is m x k (k x m when transposed), B is k x n (n x k when transposed).
  auto describe = [&](int64_t rows, int64_t cols) {
    return [MPSMatrixDescriptor matrixDescriptorWithRows:(NSUInteger)rows
                                                 columns:(NSUInteger)cols
                                                matrices:(NSUInteger)g.batch
                                                rowBytes:(NSUInteger)cols * e
                                             matrixBytes:(NSUInteger)(rows * cols) * e
                                                dataType:type];
  };
  MPSMatrix* a = [[MPSMatrix alloc] initWithBuffer:g.A
                                            offset:0
                                        descriptor:describe(g.transA ? g.k : g.m, g.transA ? g.m : g.k)];
  MPSMatrix* b = [[MPSMatrix alloc] initWithBuffer:g.B
                                            offset:0
                                        descriptor:describe(g.transB ? g.n : g.k, g.transB ? g.k : g.n)];
  MPSMatrix* c = [[MPSMatrix alloc] initWithBuffer:g.C offset:0 descriptor:describe(g.m, g.n)];
  MPSMatrixMultiplication* mm = [[MPSMatrixMultiplication alloc] initWithDevice:context().device
                                                                  transposeLeft:g.transA
                                                                 transposeRight:g.transB
                                                                     resultRows:(NSUInteger)g.m
                                                                  resultColumns:(NSUInteger)g.n
                                                                interiorColumns:(NSUInteger)g.k
                                                                          alpha:1.0
                                                                           beta:0.0];
  mm.batchStart = 0;
  mm.batchSize = (NSUInteger)g.batch;
  [mm encodeToCommandBuffer:cb leftMatrix:a rightMatrix:b resultMatrix:c];
}

namespace {

/** The check behind mpsF16AccumulationNote: C (16 x 16) = A (16 x 4096) · B (4096 x 16), values in [0, 1). */
std::string checkF16Accumulation() {
  constexpr int64_t m = 16, n = 16, k = 4096;
  id<MTLDevice> device = context().device;
  std::vector<uint16_t> a((size_t)(m * k)), b((size_t)(k * n));
  SplitMix rng(0x6d7073);
  for (auto& v : a) v = f32ToF16(std::fabs(rng.uniform()));
  for (auto& v : b) v = f32ToF16(std::fabs(rng.uniform()));
  id<MTLBuffer> A = [device newBufferWithBytes:a.data() length:a.size() * 2 options:MTLResourceStorageModeShared];
  id<MTLBuffer> B = [device newBufferWithBytes:b.data() length:b.size() * 2 options:MTLResourceStorageModeShared];
  id<MTLBuffer> C = [device newBufferWithLength:(NSUInteger)(m * n * 2) options:MTLResourceStorageModeShared];
  if (!A || !B || !C) return "not checked (allocating its buffers failed)";
  id<MTLCommandBuffer> cb = [context().queue commandBuffer];
  encodeGemm(cb, GemmArgs{A, B, C, m, n, k, 1, false, false, true});
  [cb commit];
  [cb waitUntilCompleted];
  if (cb.status == MTLCommandBufferStatusError) return "not checked (the command buffer failed)";
  const uint16_t* c = static_cast<const uint16_t*>(C.contents);
  double worst = 0;
  for (int64_t i = 0; i < m; i++)
    for (int64_t j = 0; j < n; j++) {
      double exact = 0;
      for (int64_t p = 0; p < k; p++)
        exact += (double)f16ToF32(a[(size_t)(i * k + p)]) * (double)f16ToF32(b[(size_t)(p * n + j)]);
      worst = std::fmax(worst, std::fabs((double)f16ToF32(c[i * n + j]) - exact) / exact);
    }
  const double oneRounding = std::ldexp(1.0, -11);  // half an f16 ulp, relative
  char text[240];
  snprintf(text, sizeof text,
           worst <= 2 * oneRounding
               ? "f32 (or wider): a k = 4096 product of values in [0, 1) is off by at most %.2g relative, "
                 "within the final f16 rounding (%.2g)"
               : "f16, at least partly: a k = 4096 product of values in [0, 1) is off by %.2g relative, "
                 "more than the final f16 rounding (%.2g); for k of 4096-8192 the f16 tolerance may not hold",
           worst, oneRounding);
  return text;
}

}  // namespace

std::string mpsF16AccumulationNote() {
  static const std::string note = []() -> std::string {
    @autoreleasepool {
      try {
        return "MPS f16 accumulation: " + checkF16Accumulation();
      } catch (const std::exception& e) {
        return std::string("MPS f16 accumulation: not checked (") + e.what() + ")";
      }
    }
  }();
  return note;
}

}  // namespace gpubench::metal
