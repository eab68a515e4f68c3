// GEMM on Metal: MPSMatrixMultiplication over the batch (f32, or f16 storage; MPS chooses the
// accumulation precision of f16, which the verification's tolerance then judges).
#import <MetalPerformanceShaders/MetalPerformanceShaders.h>

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
  MPSMatrix* a = [[MPSMatrix alloc] initWithBuffer:g.A offset:0 descriptor:describe(g.transA ? g.k : g.m, g.transA ? g.m : g.k)];
  MPSMatrix* b = [[MPSMatrix alloc] initWithBuffer:g.B offset:0 descriptor:describe(g.transB ? g.n : g.k, g.transB ? g.k : g.n)];
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

}  // namespace gpubench::metal
