// The Arm variant (AArch64, where NEON is always present): an 8x12 tile of generic vectors, which
// the compiler lowers to NEON fused multiply-adds (24 accumulators of the 32 vector registers), and
// hardware f16 conversion. Untested here (no Arm machine in reach); covered by the macOS workflow.
#include "kernels.h"

#if defined(__aarch64__) || defined(_M_ARM64)

#include <arm_neon.h>

#include "blocked.h"
#include "generic_arch.h"

namespace gpubench::cpu {
namespace {

struct NeonF16 {
  static float toF32(uint16_t h) { return vgetq_lane_f32(vcvt_f32_f16(vreinterpret_f16_u16(vdup_n_u16(h))), 0); }
  static void toF32Row(const uint16_t* src, float* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1q_f32(dst + i, vcvt_f32_f16(vreinterpret_f16_u16(vld1_u16(src + i))));
    for (; i < n; i++) dst[i] = toF32(src[i]);
  }
  static void toF16Row(const float* src, uint16_t* dst, int64_t n) {
    int64_t i = 0;
    for (; i + 4 <= n; i += 4) vst1_u16(dst + i, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(src + i))));
    for (; i < n; i++) {
      float tail[4] = {src[i], 0, 0, 0};
      uint16_t out[4];
      vst1_u16(out, vreinterpret_u16_f16(vcvt_f16_f32(vld1q_f32(tail))));
      dst[i] = out[0];
    }
  }
};

using Neon = GenericArch<8, 3, 128, 256, 3072, NeonF16>;
const CpuKernels table = Blocked<Neon>::table("neon");

}  // namespace

const CpuKernels* neonKernels() { return &table; }

}  // namespace gpubench::cpu

#else

namespace gpubench::cpu {
const CpuKernels* neonKernels() { return nullptr; }
}  // namespace gpubench::cpu

#endif
