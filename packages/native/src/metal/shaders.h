// The MSL source of the Metal backend's small kernels, compiled at run time (newLibraryWithSource).
// f16 kernels read half and accumulate in float, as the other backends do.
#pragma once

namespace gpubench::metal {

constexpr const char* kShaderSource = R"MSL(
#include <metal_stdlib>
using namespace metal;

struct Dims { uint m; uint n; };

#define GEMV_ROWS(NAME, T)                                                                  \
kernel void NAME(device const T* A [[buffer(0)]], device const T* x [[buffer(1)]],          \
                 device T* y [[buffer(2)]], constant Dims& d [[buffer(3)]],                 \
                 uint row [[threadgroup_position_in_grid]],                                 \
                 uint lane [[thread_index_in_threadgroup]]) {                               \
  float s = 0.0f;                                                                           \
  if (row < d.m) {                                                                          \
    for (uint j = lane; j < d.n; j += 32) s += float(A[row * d.n + j]) * float(x[j]);      \
  }                                                                                         \
  s = simd_sum(s);                                                                          \
  if (lane == 0 && row < d.m) y[row] = T(s);                                                \
}

#define GEMV_COLS(NAME, T)                                                                  \
kernel void NAME(device const T* A [[buffer(0)]], device const T* x [[buffer(1)]],          \
                 device T* y [[buffer(2)]], constant Dims& d [[buffer(3)]],                 \
                 uint col [[thread_position_in_grid]]) {                                    \
  if (col >= d.n) return;                                                                   \
  float s = 0.0f;                                                                           \
  for (uint i = 0; i < d.m; i++) s += float(A[i * d.n + col]) * float(x[i]);                \
  y[col] = T(s);                                                                            \
}

GEMV_ROWS(gemv_rows_f32, float)
GEMV_ROWS(gemv_rows_f16, half)
GEMV_COLS(gemv_cols_f32, float)
GEMV_COLS(gemv_cols_f16, half)

kernel void flag(device float* f [[buffer(0)]], uint tid [[thread_position_in_grid]]) {
  if (tid == 0) f[0] = 1.0f;
}
)MSL";

}  // namespace gpubench::metal
