// The MSL source of the Metal backend's small kernels, compiled at run time (newLibraryWithSource;
// ASCII only). f16 kernels read half and accumulate in float, as the other backends do.
#pragma once

namespace gpubench::metal {

constexpr const char* kShaderSource = R"MSL(
#include <metal_stdlib>
using namespace metal;

struct Dims { uint m; uint n; };
// A^T x: rows split into `splits` ranges of `rowsPerSplit` (common/geometry.h, gemvColsGeometry).
struct ColsDims { uint m; uint n; uint rowsPerSplit; uint splits; };

// A x: one SIMD group per row, several per threadgroup (gemvRowsGeometry).
#define GEMV_ROWS(NAME, T)                                                                  \
kernel void NAME(device const T* A [[buffer(0)]], device const T* x [[buffer(1)]],          \
                 device T* y [[buffer(2)]], constant Dims& d [[buffer(3)]],                 \
                 uint group [[threadgroup_position_in_grid]],                               \
                 uint simd [[simdgroup_index_in_threadgroup]],                              \
                 uint simds [[simdgroups_per_threadgroup]],                                 \
                 uint lane [[thread_index_in_simdgroup]],                                   \
                 uint width [[threads_per_simdgroup]]) {                                    \
  const uint row = group * simds + simd;                                                    \
  float s = 0.0f;                                                                           \
  if (row < d.m) {                                                                          \
    for (uint j = lane; j < d.n; j += width) s += float(A[row * d.n + j]) * float(x[j]);   \
  }                                                                                         \
  s = simd_sum(s);                                                                          \
  if (lane == 0 && row < d.m) y[row] = T(s);                                                \
}

// A^T x: threadgroups of 32 columns x 8 row lanes over one split of the rows; the lanes add up in
// threadgroup memory; with several splits each writes its sums to `partial` for gemv_cols_reduce.
#define GEMV_COLS(NAME, T)                                                                  \
kernel void NAME(device const T* A [[buffer(0)]], device const T* x [[buffer(1)]],          \
                 device T* y [[buffer(2)]], constant ColsDims& d [[buffer(3)]],             \
                 device float* partial [[buffer(4)]],                                       \
                 uint2 group [[threadgroup_position_in_grid]],                              \
                 uint2 tid [[thread_position_in_threadgroup]]) {                            \
  threadgroup float part[8][33];                                                            \
  const uint col = group.x * 32 + tid.x;                                                    \
  const uint r0 = group.y * d.rowsPerSplit;                                                 \
  const uint r1 = min(d.m, r0 + d.rowsPerSplit);                                            \
  float s = 0.0f;                                                                           \
  if (col < d.n) {                                                                          \
    for (uint i = r0 + tid.y; i < r1; i += 8) s += float(A[i * d.n + col]) * float(x[i]);  \
  }                                                                                         \
  part[tid.y][tid.x] = s;                                                                   \
  threadgroup_barrier(mem_flags::mem_threadgroup);                                          \
  if (tid.y != 0 || col >= d.n) return;                                                     \
  float t = 0.0f;                                                                           \
  for (uint l = 0; l < 8; l++) t += part[l][tid.x];                                         \
  if (d.splits == 1) y[col] = T(t);                                                         \
  else partial[group.y * d.n + col] = t;                                                    \
}

#define GEMV_COLS_REDUCE(NAME, T)                                                           \
kernel void NAME(device const float* partial [[buffer(0)]], device T* y [[buffer(1)]],      \
                 constant ColsDims& d [[buffer(2)]], uint col [[thread_position_in_grid]]) { \
  if (col >= d.n) return;                                                                   \
  float t = 0.0f;                                                                           \
  for (uint k = 0; k < d.splits; k++) t += partial[k * d.n + col];                          \
  y[col] = T(t);                                                                            \
}

GEMV_ROWS(gemv_rows_f32, float)
GEMV_ROWS(gemv_rows_f16, half)
GEMV_COLS(gemv_cols_f32, float)
GEMV_COLS(gemv_cols_f16, half)
GEMV_COLS_REDUCE(gemv_cols_reduce_f32, float)
GEMV_COLS_REDUCE(gemv_cols_reduce_f16, half)

kernel void flag(device float* f [[buffer(0)]], uint tid [[thread_position_in_grid]]) {
  if (tid == 0) f[0] = 1.0f;
}
)MSL";

}  // namespace gpubench::metal
