// A micro-kernel written with the compiler's generic 4-wide vectors (GCC/Clang vector extensions):
// SSE2 on any x86-64, NEON on Arm, whatever the target offers elsewhere. MR rows by 4*NV columns.
// Instantiated by kernels_portable.cpp (the fallback) and kernels_neon.cpp (Arm, with hardware
// f16 conversion and a taller tile that Arm's 32 vector registers can hold).
#pragma once

#include <cstdint>
#include <cstring>

#include "../common/f16.h"

namespace gpubench::cpu {

typedef float v4f __attribute__((vector_size(16)));

inline v4f loadV4(const float* p) {
  v4f v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void storeV4(float* p, v4f v) { std::memcpy(p, &v, sizeof v); }

template <int64_t MR_, int64_t NV, int64_t MC_, int64_t KC_, int64_t NC_, class F16>
struct GenericArch {
  static constexpr int64_t MR = MR_, NR = 4 * NV, MC = MC_, KC = KC_, NC = NC_;

  static void micro(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
    v4f acc[MR][NV] = {};
    for (int64_t p = 0; p < kc; p++) {
      v4f bv[NV];
      for (int64_t v = 0; v < NV; v++) bv[v] = loadV4(b + 4 * v);
      for (int64_t r = 0; r < MR; r++) {
        const v4f x = {a[r], a[r], a[r], a[r]};
        for (int64_t v = 0; v < NV; v++) acc[r][v] += x * bv[v];
      }
      a += MR;
      b += NR;
    }
    for (int64_t r = 0; r < MR; r++)
      for (int64_t v = 0; v < NV; v++) {
        float* out = c + r * ldc + 4 * v;
        storeV4(out, accumulate ? acc[r][v] + loadV4(out) : acc[r][v]);
      }
  }

  static float h2f(uint16_t h) { return F16::toF32(h); }
  static void h2fRow(const uint16_t* src, float* dst, int64_t n) { F16::toF32Row(src, dst, n); }
  static void f2hRow(const float* src, uint16_t* dst, int64_t n) { F16::toF16Row(src, dst, n); }

  static float dotF32(const float* a, const float* x, int64_t n) {
    v4f s0 = {}, s1 = {};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      s0 += loadV4(a + i) * loadV4(x + i);
      s1 += loadV4(a + i + 4) * loadV4(x + i + 4);
    }
    const v4f s = s0 + s1;
    float total = s[0] + s[1] + s[2] + s[3];
    for (; i < n; i++) total += a[i] * x[i];
    return total;
  }

  static float dotF16(const uint16_t* a, const float* x, int64_t n) {
    float buf[256];
    float total = 0;
    for (int64_t i = 0; i < n; i += 256) {
      const int64_t len = n - i < 256 ? n - i : 256;
      F16::toF32Row(a + i, buf, len);
      total += dotF32(buf, x + i, len);
    }
    return total;
  }

  /** Four dot products of rows a, a + lda, a + 2 lda, a + 3 lda with x. */
  static void dot4F32(const float* a, int64_t lda, const float* x, int64_t n, float* out) {
    for (int r = 0; r < 4; r++) out[r] = dotF32(a + r * lda, x, n);
  }

  static void dot4F16(const uint16_t* a, int64_t lda, const float* x, int64_t n, float* out) {
    for (int r = 0; r < 4; r++) out[r] = dotF16(a + r * lda, x, n);
  }

  static void axpyF32(float* acc, const float* a, float s, int64_t n) {
    const v4f v = {s, s, s, s};
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) storeV4(acc + i, loadV4(acc + i) + loadV4(a + i) * v);
    for (; i < n; i++) acc[i] += a[i] * s;
  }

  /** acc += s[0]·a + s[1]·(a + lda) + s[2]·(a + 2 lda) + s[3]·(a + 3 lda). */
  static void axpy4F32(float* acc, const float* a, int64_t lda, const float* s, int64_t n) {
    for (int r = 0; r < 4; r++) axpyF32(acc, a + r * lda, s[r], n);
  }

  static void axpy4F16(float* acc, const uint16_t* a, int64_t lda, const float* s, int64_t n) {
    for (int r = 0; r < 4; r++) axpyF16(acc, a + r * lda, s[r], n);
  }

  static void axpyF16(float* acc, const uint16_t* a, float s, int64_t n) {
    float buf[256];
    for (int64_t i = 0; i < n; i += 256) {
      const int64_t len = n - i < 256 ? n - i : 256;
      F16::toF32Row(a + i, buf, len);
      axpyF32(acc + i, buf, s, len);
    }
  }
};

/** Software f16 conversion, bit-exact with core's. */
struct SoftF16 {
  static float toF32(uint16_t h) { return f16ToF32(h); }
  static void toF32Row(const uint16_t* src, float* dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f16ToF32(src[i]);
  }
  static void toF16Row(const float* src, uint16_t* dst, int64_t n) {
    for (int64_t i = 0; i < n; i++) dst[i] = f32ToF16(src[i]);
  }
};

}  // namespace gpubench::cpu
