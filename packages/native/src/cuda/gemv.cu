// GEMV kernels, memory-bound (launch geometry from common/geometry.h, host code):
//  - y = A·x: one warp per row; each lane loads 16 bytes of A at a time (4 floats, 8 halves), x
//    the same way when its elements line up with A's, else element by element (x is shared by
//    every row, so it comes from cache); a scalar head up to the row's first 16-byte boundary and a
//    scalar tail; a shuffle reduction at the end.
//  - y = Aᵀ·x: blocks of 32 columns x 8 row lanes over one split of the rows (a warp reads 32
//    consecutive columns of a row, coalesced); the 8 lanes add up in shared memory; with several
//    splits each writes its column sums to a workspace and a second kernel adds the splits.
// f16 loads widen to f32; sums stay f32.
#include <cuda_fp16.h>

#include <cstdint>

#include "../common/geometry.h"
#include "kernels.h"

namespace gpubench::cuda {
namespace {

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }

/** Elements in one 16-byte load. */
template <class T>
constexpr int kVec = 16 / (int)sizeof(T);

/** Loads 16 bytes at p (16-byte aligned) as kVec<T> floats. */
__device__ __forceinline__ void loadVec(const float* p, float* out) {
  const float4 q = *reinterpret_cast<const float4*>(p);
  out[0] = q.x;
  out[1] = q.y;
  out[2] = q.z;
  out[3] = q.w;
}
__device__ __forceinline__ void loadVec(const __half* p, float* out) {
  const uint4 q = *reinterpret_cast<const uint4*>(p);
  const __half2* h = reinterpret_cast<const __half2*>(&q);
#pragma unroll
  for (int t = 0; t < 4; t++) {
    const float2 f = __half22float2(h[t]);
    out[2 * t] = f.x;
    out[2 * t + 1] = f.y;
  }
}

template <class T>
__global__ void gemvRowsKernel(int m, int n, const T* A, const T* x, T* y) {
  constexpr int V = kVec<T>;
  const int64_t row = (int64_t)blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= m) return;
  const T* a = A + row * n;
  const int misaligned = (int)(reinterpret_cast<uintptr_t>(a) & 15) / (int)sizeof(T);
  const int head = min(n, (V - misaligned) % V);
  float sum = 0.0f;
  if (lane < head) sum = load(a, lane) * load(x, lane);
  const int vecs = (n - head) / V;
  const bool xAligned = (reinterpret_cast<uintptr_t>(x + head) & 15) == 0;  // the same for the whole warp
  for (int v = lane; v < vecs; v += 32) {
    const int j = head + v * V;
    float av[V], xv[V];
    loadVec(a + j, av);
    if (xAligned) {
      loadVec(x + j, xv);
    } else {
#pragma unroll
      for (int t = 0; t < V; t++) xv[t] = load(x, j + t);
    }
#pragma unroll
    for (int t = 0; t < V; t++) sum = fmaf(av[t], xv[t], sum);
  }
  for (int j = head + vecs * V + lane; j < n; j += 32) sum = fmaf(load(a, j), load(x, j), sum);
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if (lane == 0) store(y, row, sum);
}

constexpr int kCols = GemvColsGeometry::kColsPerBlock, kLanes = GemvColsGeometry::kRowLanes;

template <class T>
__global__ void __launch_bounds__(kCols* kLanes)
    gemvColsKernel(int m, int n, int64_t rowsPerSplit, const T* A, const T* x, T* y, float* partial) {
  const int64_t col = (int64_t)blockIdx.x * kCols + threadIdx.x;
  const int64_t r0 = (int64_t)blockIdx.y * rowsPerSplit;
  const int64_t r1 = min((int64_t)m, r0 + rowsPerSplit);
  float sum = 0.0f;
  if (col < n) {
#pragma unroll 4
    for (int64_t i = r0 + threadIdx.y; i < r1; i += kLanes) sum = fmaf(load(A, i * n + col), load(x, i), sum);
  }
  __shared__ float part[kLanes][kCols + 1];
  part[threadIdx.y][threadIdx.x] = sum;
  __syncthreads();
  if (threadIdx.y != 0 || col >= n) return;
  float s = 0.0f;
#pragma unroll
  for (int l = 0; l < kLanes; l++) s += part[l][threadIdx.x];
  if (gridDim.y == 1)
    store(y, col, s);
  else
    partial[(int64_t)blockIdx.y * n + col] = s;
}

template <class T>
__global__ void gemvColsReduceKernel(int n, int splits, const float* partial, T* y) {
  const int64_t col = (int64_t)blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= n) return;
  float s = 0.0f;
  for (int k = 0; k < splits; k++) s += partial[(int64_t)k * n + col];
  store(y, col, s);
}

template <class T>
cudaError_t enqueue(const GemvDesc& d, int smCount, cudaStream_t stream) {
  const T* a = static_cast<const T*>(d.A);
  const T* v = static_cast<const T*>(d.x);
  T* out = static_cast<T*>(d.y);
  if (!d.trans) {
    const GemvRowsGeometry g = gemvRowsGeometry(d.m, smCount);
    gemvRowsKernel<T><<<(unsigned)g.blocks, 32 * g.warpsPerBlock, 0, stream>>>(d.m, d.n, a, v, out);
    return cudaGetLastError();
  }
  const GemvColsGeometry g = gemvColsGeometry(d.m, d.n, smCount);
  if (g.rowSplits > 1 && !d.workspace) return cudaErrorInvalidValue;
  gemvColsKernel<T><<<dim3((unsigned)g.colBlocks, (unsigned)g.rowSplits), dim3(kCols, kLanes), 0, stream>>>(
      d.m, d.n, g.rowsPerSplit, a, v, out, d.workspace);
  if (g.rowSplits > 1)
    gemvColsReduceKernel<T><<<(unsigned)ceilDiv(d.n, 256), 256, 0, stream>>>(d.n, (int)g.rowSplits, d.workspace, out);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launchGemv(const GemvDesc& d, int smCount, cudaStream_t stream) {
  return d.f16 ? enqueue<__half>(d, smCount, stream) : enqueue<float>(d, smCount, stream);
}

}  // namespace gpubench::cuda
