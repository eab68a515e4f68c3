// GEMV kernels, memory-bound: y = A·x with one warp per row (lanes stride along the row, loads
// coalesce, a shuffle reduction at the end); y = Aᵀ·x with one thread per column (consecutive
// threads read consecutive columns of each row). f16 loads widen to f32; sums stay f32.
#include <cuda_fp16.h>

#include "kernels.h"

namespace gpubench::cuda {
namespace {

__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const __half* p, int64_t i) { return __half2float(p[i]); }
__device__ __forceinline__ void store(float* p, int64_t i, float v) { p[i] = v; }
__device__ __forceinline__ void store(__half* p, int64_t i, float v) { p[i] = __float2half_rn(v); }

template <class T>
__global__ void gemvRowsKernel(int m, int n, const T* A, const T* x, T* y) {
  const int row = blockIdx.x * (blockDim.x / 32) + threadIdx.x / 32;
  const int lane = threadIdx.x % 32;
  if (row >= m) return;
  float sum = 0.0f;
  const T* a = A + (int64_t)row * n;
  for (int j = lane; j < n; j += 32) sum = fmaf(load(a, j), load(x, j), sum);
  for (int offset = 16; offset > 0; offset /= 2) sum += __shfl_down_sync(0xffffffffu, sum, offset);
  if (lane == 0) store(y, row, sum);
}

template <class T>
__global__ void gemvColsKernel(int m, int n, const T* A, const T* x, T* y) {
  const int col = blockIdx.x * blockDim.x + threadIdx.x;
  if (col >= n) return;
  float sum = 0.0f;
  for (int i = 0; i < m; i++) sum = fmaf(load(A, (int64_t)i * n + col), load(x, i), sum);
  store(y, col, sum);
}

template <class T>
void enqueue(int m, int n, const void* A, const void* x, void* y, bool trans, cudaStream_t stream) {
  const T* a = static_cast<const T*>(A);
  const T* v = static_cast<const T*>(x);
  T* out = static_cast<T*>(y);
  if (trans)
    gemvColsKernel<T><<<(n + 255) / 256, 256, 0, stream>>>(m, n, a, v, out);
  else
    gemvRowsKernel<T><<<(m + 7) / 8, 256, 0, stream>>>(m, n, a, v, out);
}

}  // namespace

cudaError_t launchGemv(int m, int n, const void* A, const void* x, void* y, bool trans, bool f16, cudaStream_t stream) {
  if (f16)
    enqueue<__half>(m, n, A, x, y, trans, stream);
  else
    enqueue<float>(m, n, A, x, y, trans, stream);
  return cudaGetLastError();
}

}  // namespace gpubench::cuda
