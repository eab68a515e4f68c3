// GEMV on Metal, with the launch geometry of common/geometry.h: A·x with a SIMD group per row
// (several per threadgroup); Aᵀ·x with the rows split across threadgroups so every GPU core has
// work, and a second pass adding the splits' partial sums.
#include "../common/geometry.h"
#include "context.h"

namespace gpubench::metal {

namespace {
/**
 * Metal does not report an Apple GPU's core count; the geometry assumes this many (an M-series
 * Ultra has 60-80, a Max 30-40), which only means more splits than needed on smaller parts.
 */
constexpr int kAssumedGpuCores = 64;
}  // namespace

int64_t gemvWorkspaceFloats(int64_t m, int64_t n, bool trans) {
  return trans ? gemvColsGeometry(m, n, kAssumedGpuCores).workspaceFloats : 0;
}

void encodeGemv(id<MTLCommandBuffer> cb, const GemvArgs& g) {
  const std::string type = g.f16 ? "f16" : "f32";
  id<MTLComputeCommandEncoder> enc = [cb computeCommandEncoder];
  if (!g.trans) {
    const GemvRowsGeometry geometry = gemvRowsGeometry(g.m, kAssumedGpuCores);
    [enc setComputePipelineState:pipeline("gemv_rows_" + type)];
    [enc setBuffer:g.A offset:0 atIndex:0];
    [enc setBuffer:g.x offset:0 atIndex:1];
    [enc setBuffer:g.y offset:0 atIndex:2];
    const uint32_t dims[2] = {(uint32_t)g.m, (uint32_t)g.n};
    [enc setBytes:dims length:sizeof dims atIndex:3];
    [enc dispatchThreadgroups:MTLSizeMake((NSUInteger)geometry.blocks, 1, 1)
        threadsPerThreadgroup:MTLSizeMake((NSUInteger)(32 * geometry.warpsPerBlock), 1, 1)];
    [enc endEncoding];
    return;
  }
  const GemvColsGeometry geometry = gemvColsGeometry(g.m, g.n, kAssumedGpuCores);
  if (geometry.rowSplits > 1 && !g.workspace) throw NativeError("GEMV: the workspace for the row splits is missing");
  const uint32_t dims[4] = {(uint32_t)g.m, (uint32_t)g.n, (uint32_t)geometry.rowsPerSplit,
                            (uint32_t)geometry.rowSplits};
  [enc setComputePipelineState:pipeline("gemv_cols_" + type)];
  [enc setBuffer:g.A offset:0 atIndex:0];
  [enc setBuffer:g.x offset:0 atIndex:1];
  [enc setBuffer:g.y offset:0 atIndex:2];
  [enc setBytes:dims length:sizeof dims atIndex:3];
  // With one split the kernel writes y directly and never touches buffer 4.
  [enc setBuffer:(g.workspace ? g.workspace : g.y) offset:0 atIndex:4];
  [enc dispatchThreadgroups:MTLSizeMake((NSUInteger)geometry.colBlocks, (NSUInteger)geometry.rowSplits, 1)
      threadsPerThreadgroup:MTLSizeMake(GemvColsGeometry::kColsPerBlock, GemvColsGeometry::kRowLanes, 1)];
  if (geometry.rowSplits > 1) {
    // A serial encoder runs the second dispatch after the first has finished writing `partial`.
    [enc setComputePipelineState:pipeline("gemv_cols_reduce_" + type)];
    [enc setBuffer:g.workspace offset:0 atIndex:0];
    [enc setBuffer:g.y offset:0 atIndex:1];
    [enc setBytes:dims length:sizeof dims atIndex:2];
    [enc dispatchThreads:MTLSizeMake((NSUInteger)g.n, 1, 1) threadsPerThreadgroup:MTLSizeMake(256, 1, 1)];
  }
  [enc endEncoding];
}

}  // namespace gpubench::metal
