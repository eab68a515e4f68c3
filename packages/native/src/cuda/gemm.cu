// GEMM kernels: a shared-memory tiled f32 kernel and a WMMA tensor-core f16 kernel. Both take
// arbitrary strides (transposes included) and bounds-check every load and store, so any shape is
// correct; speed comes from cuBLAS when it is present (see cublas.cpp).
#include <cuda_fp16.h>
#include <mma.h>

#include "../common/geometry.h"
#include "kernels.h"

namespace gpubench::cuda {
namespace {

constexpr int BM = 64, BN = 64, BK = 16;

// Grids come from gemmGrid: y and z stop at 65535, so a block loops over row tiles and batch
// entries (the loops are uniform across the block, so the __syncthreads inside them are safe).
__global__ void __launch_bounds__(256) sgemmKernel(GemmDesc d, int rowTiles) {
  const int tx = threadIdx.x % 16, ty = threadIdx.x / 16;
  __shared__ float As[BK][BM + 1];
  __shared__ float Bs[BK][BN + 1];
  for (int bz = blockIdx.z; bz < d.batch; bz += gridDim.z) {
    for (int by = blockIdx.y; by < rowTiles; by += gridDim.y) {
      const float* A = static_cast<const float*>(d.A) + bz * d.strideA;
      const float* B = static_cast<const float*>(d.B) + bz * d.strideB;
      float* C = static_cast<float*>(d.C) + bz * d.strideC;
      const int row0 = by * BM, col0 = blockIdx.x * BN;
      float acc[4][4] = {};
      for (int p0 = 0; p0 < d.k; p0 += BK) {
        for (int e = threadIdx.x; e < BK * BM; e += 256) {
          // Map consecutive threads to the unit-stride direction so global loads coalesce.
          const int ii = d.csA == 1 ? e / BK : e % BM;
          const int pp = d.csA == 1 ? e % BK : e / BM;
          const int i = row0 + ii, p = p0 + pp;
          As[pp][ii] = (i < d.m && p < d.k) ? A[i * d.rsA + p * d.csA] : 0.0f;
        }
        for (int e = threadIdx.x; e < BK * BN; e += 256) {
          const int jj = d.csB == 1 ? e % BN : e / BK;
          const int pp = d.csB == 1 ? e / BN : e % BK;
          const int j = col0 + jj, p = p0 + pp;
          Bs[pp][jj] = (j < d.n && p < d.k) ? B[p * d.rsB + j * d.csB] : 0.0f;
        }
        __syncthreads();
#pragma unroll
        for (int pp = 0; pp < BK; pp++) {
          float a[4], b[4];
#pragma unroll
          for (int r = 0; r < 4; r++) a[r] = As[pp][ty + 16 * r];
#pragma unroll
          for (int c = 0; c < 4; c++) b[c] = Bs[pp][tx + 16 * c];
#pragma unroll
          for (int r = 0; r < 4; r++)
#pragma unroll
            for (int c = 0; c < 4; c++) acc[r][c] = fmaf(a[r], b[c], acc[r][c]);
        }
        __syncthreads();
      }
#pragma unroll
      for (int r = 0; r < 4; r++) {
        const int i = row0 + ty + 16 * r;
#pragma unroll
        for (int c = 0; c < 4; c++) {
          const int j = col0 + tx + 16 * c;
          if (i < d.m && j < d.n) C[i * d.ldc + j] = acc[r][c];
        }
      }
    }
  }
}

// WMMA: a 32x32 block tile, four warps each owning one 16x16 output fragment.
constexpr int WT = 32, WK = 16;
constexpr int LDA = WK + 8, LDB = WT + 8, LDC = WT + 4;  // padded; multiples of 8 halves / 4 floats as WMMA requires

// At least 8 blocks per SM: ptxas then keeps it within 64 registers without spilling (with no
// minimum it spilled on sm_80 once the grid loops were added).
__global__ void __launch_bounds__(128, 8) hgemmWmmaKernel(GemmDesc d, int rowTiles) {
  using namespace nvcuda;
  const int warp = threadIdx.x / 32;
  const int wr = warp / 2, wc = warp % 2;
  __shared__ __align__(32) __half As[WT][LDA];
  __shared__ __align__(32) __half Bs[WK][LDB];
  __shared__ __align__(32) float Cs[WT][LDC];
  for (int bz = blockIdx.z; bz < d.batch; bz += gridDim.z) {
    for (int by = blockIdx.y; by < rowTiles; by += gridDim.y) {
      const __half* A = static_cast<const __half*>(d.A) + bz * d.strideA;
      const __half* B = static_cast<const __half*>(d.B) + bz * d.strideB;
      __half* C = static_cast<__half*>(d.C) + bz * d.strideC;
      const int row0 = by * WT, col0 = blockIdx.x * WT;
      wmma::fragment<wmma::accumulator, 16, 16, 16, float> acc;
      wmma::fill_fragment(acc, 0.0f);
      const __half zero = __float2half(0.0f);
      for (int p0 = 0; p0 < d.k; p0 += WK) {
        for (int e = threadIdx.x; e < WT * WK; e += 128) {
          const int ii = d.csA == 1 ? e / WK : e % WT;
          const int pp = d.csA == 1 ? e % WK : e / WT;
          const int i = row0 + ii, p = p0 + pp;
          As[ii][pp] = (i < d.m && p < d.k) ? A[i * d.rsA + p * d.csA] : zero;
        }
        for (int e = threadIdx.x; e < WK * WT; e += 128) {
          const int jj = d.csB == 1 ? e % WT : e / WK;
          const int pp = d.csB == 1 ? e / WT : e % WK;
          const int j = col0 + jj, p = p0 + pp;
          Bs[pp][jj] = (j < d.n && p < d.k) ? B[p * d.rsB + j * d.csB] : zero;
        }
        __syncthreads();
        wmma::fragment<wmma::matrix_a, 16, 16, 16, __half, wmma::row_major> a;
        wmma::fragment<wmma::matrix_b, 16, 16, 16, __half, wmma::row_major> b;
        wmma::load_matrix_sync(a, &As[wr * 16][0], LDA);
        wmma::load_matrix_sync(b, &Bs[0][wc * 16], LDB);
        wmma::mma_sync(acc, a, b, acc);
        __syncthreads();
      }
      wmma::store_matrix_sync(&Cs[wr * 16][wc * 16], acc, LDC, wmma::mem_row_major);
      __syncthreads();
      for (int e = threadIdx.x; e < WT * WT; e += 128) {
        const int ii = e / WT, jj = e % WT;
        const int i = row0 + ii, j = col0 + jj;
        if (i < d.m && j < d.n) C[i * d.ldc + j] = __float2half_rn(Cs[ii][jj]);
      }
      __syncthreads();  // Cs and the tiles are rewritten by the next tile
    }
  }
}

}  // namespace

cudaError_t launchGemm(const GemmDesc& d, cudaStream_t stream) {
  const GemmGrid g = d.f16 ? gemmGrid(d.m, d.n, d.batch, WT, WT) : gemmGrid(d.m, d.n, d.batch, BM, BN);
  const dim3 grid((unsigned)g.x, (unsigned)g.y, (unsigned)g.z);
  if (d.f16)
    hgemmWmmaKernel<<<grid, 128, 0, stream>>>(d, (int)g.rowTiles);
  else
    sgemmKernel<<<grid, 256, 0, stream>>>(d, (int)g.rowTiles);
  return cudaGetLastError();
}

}  // namespace gpubench::cuda
