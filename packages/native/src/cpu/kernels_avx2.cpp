// The AVX2/FMA/F16C variant for x86-64: a 6x16 register-blocked micro-kernel (12 ymm accumulators,
// 2 for the B panel, 1 broadcast of A) and 8-wide GEMV helpers with hardware f16 conversion.
//
// The translation unit is compiled with baseline flags; only the functions below carry
// target("avx2,fma,f16c"). Compiling the whole file with -mavx2 would let inline library code
// (std::vector, std::min) instantiated here be merged by the linker into the portable variant and
// run on CPUs without AVX2. cpu_features.cpp calls this table only after checking CPUID.
#include "kernels.h"

#if defined(__x86_64__) || defined(_M_X64)

#include <immintrin.h>

#include "blocked.h"

#define GPUBENCH_AVX2 __attribute__((target("avx2,fma,f16c")))

namespace gpubench::cpu {
namespace {

struct Avx2 {
  static constexpr int64_t MR = 6, NR = 16;
  // KC x NR B panel (16 KiB) stays in L1, MC x KC A block (144 KiB) in L2, KC x NC B block in L3.
  static constexpr int64_t MC = 144, KC = 256, NC = 4096;

  GPUBENCH_AVX2 static void micro(int64_t kc, const float* a, const float* b, float* c, int64_t ldc, bool accumulate) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    for (int r = 0; r < 6; r++) _mm_prefetch(reinterpret_cast<const char*>(c + r * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++) {
      const __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
      __m256 x = _mm256_broadcast_ss(a);
      c00 = _mm256_fmadd_ps(x, b0, c00);
      c01 = _mm256_fmadd_ps(x, b1, c01);
      x = _mm256_broadcast_ss(a + 1);
      c10 = _mm256_fmadd_ps(x, b0, c10);
      c11 = _mm256_fmadd_ps(x, b1, c11);
      x = _mm256_broadcast_ss(a + 2);
      c20 = _mm256_fmadd_ps(x, b0, c20);
      c21 = _mm256_fmadd_ps(x, b1, c21);
      x = _mm256_broadcast_ss(a + 3);
      c30 = _mm256_fmadd_ps(x, b0, c30);
      c31 = _mm256_fmadd_ps(x, b1, c31);
      x = _mm256_broadcast_ss(a + 4);
      c40 = _mm256_fmadd_ps(x, b0, c40);
      c41 = _mm256_fmadd_ps(x, b1, c41);
      x = _mm256_broadcast_ss(a + 5);
      c50 = _mm256_fmadd_ps(x, b0, c50);
      c51 = _mm256_fmadd_ps(x, b1, c51);
      a += 6;
      b += 16;
    }
    const __m256 rows[6][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    for (int r = 0; r < 6; r++) {
      float* out = c + r * ldc;
      __m256 lo = rows[r][0], hi = rows[r][1];
      if (accumulate) {
        lo = _mm256_add_ps(lo, _mm256_loadu_ps(out));
        hi = _mm256_add_ps(hi, _mm256_loadu_ps(out + 8));
      }
      _mm256_storeu_ps(out, lo);
      _mm256_storeu_ps(out + 8, hi);
    }
  }

  GPUBENCH_AVX2 static float h2f(uint16_t h) { return _cvtsh_ss(h); }

  GPUBENCH_AVX2 static void h2fRow(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(dst + i, _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(src + i))));
    for (; i < n; i++) dst[i] = _cvtsh_ss(src[i]);
  }

  GPUBENCH_AVX2 static void f2hRow(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
      _mm_storeu_si128(reinterpret_cast<__m128i*>(dst + i),
                       _mm256_cvtps_ph(_mm256_loadu_ps(src + i), _MM_FROUND_TO_NEAREST_INT));
    for (; i < n; i++) dst[i] = _cvtss_sh(src[i], _MM_FROUND_TO_NEAREST_INT);
  }

  GPUBENCH_AVX2 static float hsum(__m256 v) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }

  GPUBENCH_AVX2 static float dotF32(const float* a, const float* x, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
      s1 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
      s2 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), _mm256_loadu_ps(x + i + 16), s2);
      s3 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(_mm256_loadu_ps(a + i), _mm256_loadu_ps(x + i), s0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += a[i] * x[i];
    return s;
  }

  GPUBENCH_AVX2 static __m256 load8h(const uint16_t* p) {
    return _mm256_cvtph_ps(_mm_loadu_si128(reinterpret_cast<const __m128i*>(p)));
  }

  GPUBENCH_AVX2 static float dotF16(const uint16_t* a, const float* x, int64_t n) {
    __m256 s0 = _mm256_setzero_ps(), s1 = _mm256_setzero_ps(), s2 = _mm256_setzero_ps(), s3 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      s0 = _mm256_fmadd_ps(load8h(a + i), _mm256_loadu_ps(x + i), s0);
      s1 = _mm256_fmadd_ps(load8h(a + i + 8), _mm256_loadu_ps(x + i + 8), s1);
      s2 = _mm256_fmadd_ps(load8h(a + i + 16), _mm256_loadu_ps(x + i + 16), s2);
      s3 = _mm256_fmadd_ps(load8h(a + i + 24), _mm256_loadu_ps(x + i + 24), s3);
    }
    for (; i + 8 <= n; i += 8) s0 = _mm256_fmadd_ps(load8h(a + i), _mm256_loadu_ps(x + i), s0);
    float s = hsum(_mm256_add_ps(_mm256_add_ps(s0, s1), _mm256_add_ps(s2, s3)));
    for (; i < n; i++) s += _cvtsh_ss(a[i]) * x[i];
    return s;
  }

  /** Four rows at once: 8 accumulators (2 per row), each 8-wide load of x feeding four FMAs. */
  GPUBENCH_AVX2 static void dot4F32(const float* a, int64_t lda, const float* x, int64_t n, float* out) {
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    __m256 s00 = _mm256_setzero_ps(), s01 = _mm256_setzero_ps(), s10 = _mm256_setzero_ps(), s11 = _mm256_setzero_ps();
    __m256 s20 = _mm256_setzero_ps(), s21 = _mm256_setzero_ps(), s30 = _mm256_setzero_ps(), s31 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
      s00 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + i), x0, s00);
      s01 = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + i + 8), x1, s01);
      s10 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + i), x0, s10);
      s11 = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + i + 8), x1, s11);
      s20 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + i), x0, s20);
      s21 = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + i + 8), x1, s21);
      s30 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + i), x0, s30);
      s31 = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + i + 8), x1, s31);
    }
    float r0 = hsum(_mm256_add_ps(s00, s01)), r1 = hsum(_mm256_add_ps(s10, s11));
    float r2 = hsum(_mm256_add_ps(s20, s21)), r3 = hsum(_mm256_add_ps(s30, s31));
    for (; i < n; i++) {
      r0 += a0[i] * x[i];
      r1 += a1[i] * x[i];
      r2 += a2[i] * x[i];
      r3 += a3[i] * x[i];
    }
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
    out[3] = r3;
  }

  GPUBENCH_AVX2 static void dot4F16(const uint16_t* a, int64_t lda, const float* x, int64_t n, float* out) {
    const uint16_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    __m256 s00 = _mm256_setzero_ps(), s01 = _mm256_setzero_ps(), s10 = _mm256_setzero_ps(), s11 = _mm256_setzero_ps();
    __m256 s20 = _mm256_setzero_ps(), s21 = _mm256_setzero_ps(), s30 = _mm256_setzero_ps(), s31 = _mm256_setzero_ps();
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      const __m256 x0 = _mm256_loadu_ps(x + i), x1 = _mm256_loadu_ps(x + i + 8);
      s00 = _mm256_fmadd_ps(load8h(a0 + i), x0, s00);
      s01 = _mm256_fmadd_ps(load8h(a0 + i + 8), x1, s01);
      s10 = _mm256_fmadd_ps(load8h(a1 + i), x0, s10);
      s11 = _mm256_fmadd_ps(load8h(a1 + i + 8), x1, s11);
      s20 = _mm256_fmadd_ps(load8h(a2 + i), x0, s20);
      s21 = _mm256_fmadd_ps(load8h(a2 + i + 8), x1, s21);
      s30 = _mm256_fmadd_ps(load8h(a3 + i), x0, s30);
      s31 = _mm256_fmadd_ps(load8h(a3 + i + 8), x1, s31);
    }
    float r0 = hsum(_mm256_add_ps(s00, s01)), r1 = hsum(_mm256_add_ps(s10, s11));
    float r2 = hsum(_mm256_add_ps(s20, s21)), r3 = hsum(_mm256_add_ps(s30, s31));
    for (; i < n; i++) {
      r0 += _cvtsh_ss(a0[i]) * x[i];
      r1 += _cvtsh_ss(a1[i]) * x[i];
      r2 += _cvtsh_ss(a2[i]) * x[i];
      r3 += _cvtsh_ss(a3[i]) * x[i];
    }
    out[0] = r0;
    out[1] = r1;
    out[2] = r2;
    out[3] = r3;
  }

  GPUBENCH_AVX2 static void axpyF32(float* acc, const float* a, float s, int64_t n) {
    const __m256 v = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 32 <= n; i += 32) {
      _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(_mm256_loadu_ps(a + i), v, _mm256_loadu_ps(acc + i)));
      _mm256_storeu_ps(acc + i + 8, _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 8), v, _mm256_loadu_ps(acc + i + 8)));
      _mm256_storeu_ps(acc + i + 16, _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 16), v, _mm256_loadu_ps(acc + i + 16)));
      _mm256_storeu_ps(acc + i + 24, _mm256_fmadd_ps(_mm256_loadu_ps(a + i + 24), v, _mm256_loadu_ps(acc + i + 24)));
    }
    for (; i + 8 <= n; i += 8)
      _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(_mm256_loadu_ps(a + i), v, _mm256_loadu_ps(acc + i)));
    for (; i < n; i++) acc[i] += a[i] * s;
  }

  /** acc += s[0]·a + s[1]·(a + lda) + s[2]·(a + 2 lda) + s[3]·(a + 3 lda): acc loaded and stored once per four rows. */
  GPUBENCH_AVX2 static void axpy4F32(float* acc, const float* a, int64_t lda, const float* s, int64_t n) {
    const float *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const __m256 v0 = _mm256_set1_ps(s[0]), v1 = _mm256_set1_ps(s[1]), v2 = _mm256_set1_ps(s[2]),
                 v3 = _mm256_set1_ps(s[3]);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      __m256 t = _mm256_loadu_ps(acc + i);
      t = _mm256_fmadd_ps(_mm256_loadu_ps(a0 + i), v0, t);
      t = _mm256_fmadd_ps(_mm256_loadu_ps(a1 + i), v1, t);
      t = _mm256_fmadd_ps(_mm256_loadu_ps(a2 + i), v2, t);
      t = _mm256_fmadd_ps(_mm256_loadu_ps(a3 + i), v3, t);
      _mm256_storeu_ps(acc + i, t);
    }
    for (; i < n; i++) acc[i] += a0[i] * s[0] + a1[i] * s[1] + a2[i] * s[2] + a3[i] * s[3];
  }

  GPUBENCH_AVX2 static void axpy4F16(float* acc, const uint16_t* a, int64_t lda, const float* s, int64_t n) {
    const uint16_t *a0 = a, *a1 = a + lda, *a2 = a + 2 * lda, *a3 = a + 3 * lda;
    const __m256 v0 = _mm256_set1_ps(s[0]), v1 = _mm256_set1_ps(s[1]), v2 = _mm256_set1_ps(s[2]),
                 v3 = _mm256_set1_ps(s[3]);
    int64_t i = 0;
    for (; i + 8 <= n; i += 8) {
      __m256 t = _mm256_loadu_ps(acc + i);
      t = _mm256_fmadd_ps(load8h(a0 + i), v0, t);
      t = _mm256_fmadd_ps(load8h(a1 + i), v1, t);
      t = _mm256_fmadd_ps(load8h(a2 + i), v2, t);
      t = _mm256_fmadd_ps(load8h(a3 + i), v3, t);
      _mm256_storeu_ps(acc + i, t);
    }
    for (; i < n; i++)
      acc[i] += _cvtsh_ss(a0[i]) * s[0] + _cvtsh_ss(a1[i]) * s[1] + _cvtsh_ss(a2[i]) * s[2] + _cvtsh_ss(a3[i]) * s[3];
  }

  GPUBENCH_AVX2 static void axpyF16(float* acc, const uint16_t* a, float s, int64_t n) {
    const __m256 v = _mm256_set1_ps(s);
    int64_t i = 0;
    for (; i + 16 <= n; i += 16) {
      _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(load8h(a + i), v, _mm256_loadu_ps(acc + i)));
      _mm256_storeu_ps(acc + i + 8, _mm256_fmadd_ps(load8h(a + i + 8), v, _mm256_loadu_ps(acc + i + 8)));
    }
    for (; i + 8 <= n; i += 8) _mm256_storeu_ps(acc + i, _mm256_fmadd_ps(load8h(a + i), v, _mm256_loadu_ps(acc + i)));
    for (; i < n; i++) acc[i] += _cvtsh_ss(a[i]) * s;
  }
};

const CpuKernels table = Blocked<Avx2>::table("avx2-fma-f16c");

}  // namespace

const CpuKernels* avx2Kernels() { return &table; }

}  // namespace gpubench::cpu

#else

namespace gpubench::cpu {
const CpuKernels* avx2Kernels() { return nullptr; }
}  // namespace gpubench::cpu

#endif
