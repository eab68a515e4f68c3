// Launch geometry of the GEMV and GEMM kernels as pure functions of the shape and the device's
// multiprocessor count (SMs on CUDA; Metal passes an assumed core count), so tests check them
// without a GPU (test/cuda-host.test.ts, through the addon). Header-only: the CUDA launches
// (cuda/gemv.cu, cuda/gemm.cu) and Metal's (metal/gemv.mm) call the same functions.
#pragma once

#include <algorithm>
#include <cstdint>

namespace gpubench {

/** CUDA's limits on gridDim.y / gridDim.z (gridDim.x allows 2^31 - 1). */
constexpr int64_t kMaxGridX = 2147483647, kMaxGridYZ = 65535;
/** Blocks per multiprocessor the memory-bound GEMV kernels aim at: 8 of 256 threads fill an SM (2048 threads). */
constexpr int64_t kGemvBlocksPerSm = 8;
/** A block never gets fewer rows than this per split of Aᵀ·x, so each thread streams at least 8 rows. */
constexpr int64_t kMinRowsPerSplit = 64;

inline int64_t ceilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }

/**
 * y = A·x: one warp (SIMD group) per row, `warpsPerBlock` rows per block. 8 warps per block, fewer
 * when the rows are too few to give every multiprocessor kGemvBlocksPerSm blocks (down to 1).
 */
struct GemvRowsGeometry {
  int64_t blocks;
  int warpsPerBlock;
};

inline GemvRowsGeometry gemvRowsGeometry(int64_t m, int smCount) {
  const int64_t target = kGemvBlocksPerSm * std::max(1, smCount);
  int warps = 8;
  while (warps > 1 && ceilDiv(m, warps) < target) warps /= 2;
  return {ceilDiv(m, warps), warps};
}

/**
 * y = Aᵀ·x: blocks of 32 columns x 8 row lanes; the rows are split into `rowSplits` consecutive
 * ranges of `rowsPerSplit` (the last may be shorter, none is empty) so that there are about
 * kGemvBlocksPerSm blocks per multiprocessor even when n is small. With more than one split each
 * block writes its column sums to a workspace of rowSplits x n floats and a second pass adds them.
 * Grid: (colBlocks, rowSplits); rowSplits <= 65535.
 */
struct GemvColsGeometry {
  int64_t colBlocks, rowSplits, rowsPerSplit, workspaceFloats;
  static constexpr int kColsPerBlock = 32, kRowLanes = 8;
};

inline GemvColsGeometry gemvColsGeometry(int64_t m, int64_t n, int smCount) {
  const int64_t colBlocks = ceilDiv(n, GemvColsGeometry::kColsPerBlock);
  const int64_t target = kGemvBlocksPerSm * std::max(1, smCount);
  const int64_t maxSplits = std::min(kMaxGridYZ, std::max<int64_t>(1, m / kMinRowsPerSplit));
  const int64_t wanted = std::clamp<int64_t>(ceilDiv(target, colBlocks), 1, maxSplits);
  const int64_t rowsPerSplit = ceilDiv(m, wanted);
  const int64_t rowSplits = ceilDiv(m, rowsPerSplit);
  return {colBlocks, rowSplits, rowsPerSplit, rowSplits > 1 ? rowSplits * n : 0};
}

/**
 * The grid of a batched GEMM with tiles of tileM x tileN: x over column tiles, y over row tiles, z
 * over the batch, y and z capped at 65535. The kernels loop (tile += gridDim) over what the cap
 * leaves out, so every shape CUDA's sizes allow runs.
 */
struct GemmGrid {
  int64_t x, y, z, rowTiles;
};

inline GemmGrid gemmGrid(int64_t m, int64_t n, int64_t batch, int tileM, int tileN) {
  const int64_t rowTiles = ceilDiv(m, tileM);
  return {std::min(kMaxGridX, ceilDiv(n, tileN)), std::min(kMaxGridYZ, rowTiles), std::min(kMaxGridYZ, batch),
          rowTiles};
}

}  // namespace gpubench
