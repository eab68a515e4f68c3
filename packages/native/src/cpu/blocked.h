// The cache-blocked GEMM and the GEMV drivers, written once and instantiated in each
// instruction-set translation unit with that unit's micro-kernel and vector helpers.
//
// GEMM follows the usual five-loop structure: C is cut into NC-column blocks (jc), the depth into
// KC slices (pc); a KC x NC slice of op(B) is packed into NR-wide panels (kept in L3/L2), an MC x KC
// block of op(A) into MR-tall panels (kept in L2), and the micro-kernel multiplies one MR x KC panel
// by one KC x NR panel into an MR x NR tile of C held in registers (kept in L1 as it streams).
// Packing converts f16 to f32 and pads edges with zeros, so the micro-kernel always sees full,
// contiguous panels, and transposes cost nothing but different strides while packing.
//
// Parallelism: a batch at least as large as the pool runs one product per task (no sharing, no
// barriers); a smaller batch splits each product's rows across the workers, with B's panels
// packed cooperatively before each KC slice.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "kernels.h"

namespace gpubench::cpu {

template <class Arch>
struct Blocked {
  static constexpr int64_t MR = Arch::MR, NR = Arch::NR;
  static constexpr int64_t MC = Arch::MC, KC = Arch::KC, NC = Arch::NC;
  static_assert(MC % MR == 0 && NC % NR == 0, "blocks must be whole panels");

  static float load(const void* base, int64_t index, bool f16) {
    return f16 ? Arch::h2f(static_cast<const uint16_t*>(base)[index]) : static_cast<const float*>(base)[index];
  }

  /** Packs rows [i0, i0+mc) x depth [p0, p0+kc) of op(A) into MR-tall panels: panel[p * MR + r]. */
  static void packA(const GemmProblem& P, int64_t i0, int64_t mc, int64_t p0, int64_t kc, float* out) {
    for (int64_t ir = 0; ir < mc; ir += MR) {
      const int64_t rows = std::min(MR, mc - ir);
      float* panel = out + ir * kc;
      if (!P.f16 && P.csA == 1) {
        // Row-major A without transpose: read each row contiguously.
        for (int64_t r = 0; r < rows; r++) {
          const float* src = static_cast<const float*>(P.A) + (i0 + ir + r) * P.rsA + p0;
          for (int64_t p = 0; p < kc; p++) panel[p * MR + r] = src[p];
        }
      } else if (!P.f16 && P.rsA == 1 && rows == MR) {
        // Transposed A: each depth step is MR contiguous values.
        for (int64_t p = 0; p < kc; p++) {
          const float* src = static_cast<const float*>(P.A) + (p0 + p) * P.csA + i0 + ir;
          std::memcpy(panel + p * MR, src, MR * sizeof(float));
        }
        continue;
      } else if (P.f16 && P.csA == 1) {
        // f16 rows: convert a row's slice with the vector converter, then interleave.
        float row[KC];
        for (int64_t r = 0; r < rows; r++) {
          Arch::h2fRow(static_cast<const uint16_t*>(P.A) + (i0 + ir + r) * P.rsA + p0, row, kc);
          for (int64_t p = 0; p < kc; p++) panel[p * MR + r] = row[p];
        }
      } else if (P.f16 && P.rsA == 1 && rows == MR) {
        for (int64_t p = 0; p < kc; p++)
          Arch::h2fRow(static_cast<const uint16_t*>(P.A) + (p0 + p) * P.csA + i0 + ir, panel + p * MR, MR);
        continue;
      } else {
        for (int64_t r = 0; r < rows; r++)
          for (int64_t p = 0; p < kc; p++)
            panel[p * MR + r] = load(P.A, (i0 + ir + r) * P.rsA + (p0 + p) * P.csA, P.f16);
      }
      for (int64_t r = rows; r < MR; r++)
        for (int64_t p = 0; p < kc; p++) panel[p * MR + r] = 0.0f;
    }
  }

  /** Packs NR-wide panel `panelIndex` of depth [p0, p0+kc) x columns [j0, j0+nc) of op(B): panel[p * NR + c]. */
  static void packBPanel(const GemmProblem& P, int64_t p0, int64_t kc, int64_t j0, int64_t nc, int64_t panelIndex,
                         float* out) {
    const int64_t jr = panelIndex * NR;
    const int64_t cols = std::min(NR, nc - jr);
    float* panel = out + jr * kc;
    if (!P.f16 && P.csB == 1 && cols == NR) {
      for (int64_t p = 0; p < kc; p++) {
        const float* src = static_cast<const float*>(P.B) + (p0 + p) * P.rsB + j0 + jr;
        std::memcpy(panel + p * NR, src, NR * sizeof(float));
      }
      return;
    }
    if (P.f16 && P.csB == 1 && cols == NR) {
      for (int64_t p = 0; p < kc; p++) {
        const uint16_t* src = static_cast<const uint16_t*>(P.B) + (p0 + p) * P.rsB + j0 + jr;
        Arch::h2fRow(src, panel + p * NR, NR);
      }
      return;
    }
    for (int64_t p = 0; p < kc; p++) {
      for (int64_t c = 0; c < cols; c++) panel[p * NR + c] = load(P.B, (p0 + p) * P.rsB + (j0 + jr + c) * P.csB, P.f16);
      for (int64_t c = cols; c < NR; c++) panel[p * NR + c] = 0.0f;
    }
  }

  /** C[mc x nc] (=, or += when accumulate) packedA · packedB, tile by tile. */
  static void macro(const float* aPack, const float* bPack, int64_t mc, int64_t nc, int64_t kc, float* C, int64_t ldc,
                    bool accumulate) {
    alignas(64) float tile[MR * NR];
    for (int64_t jr = 0; jr < nc; jr += NR) {
      const int64_t cols = std::min(NR, nc - jr);
      const float* b = bPack + jr * kc;
      for (int64_t ir = 0; ir < mc; ir += MR) {
        const int64_t rows = std::min(MR, mc - ir);
        const float* a = aPack + ir * kc;
        float* c = C + ir * ldc + jr;
        if (rows == MR && cols == NR) {
          Arch::micro(kc, a, b, c, ldc, accumulate);
        } else {
          Arch::micro(kc, a, b, tile, NR, false);
          for (int64_t r = 0; r < rows; r++)
            for (int64_t q = 0; q < cols; q++)
              c[r * ldc + q] = accumulate ? c[r * ldc + q] + tile[r * NR + q] : tile[r * NR + q];
        }
      }
    }
  }

  static void ensure(std::vector<float>& v, size_t n) {
    if (v.size() < n) v.resize(n);
  }

  /** Where products accumulate: C itself for f32, an f32 scratch for f16 (converted at the end). */
  static float* target(const GemmProblem& P, std::vector<float>& scratch, int64_t& ldc) {
    if (!P.f16) {
      ldc = P.ldc;
      return static_cast<float*>(P.C);
    }
    ensure(scratch, (size_t)(P.m * P.n));
    ldc = P.n;
    return scratch.data();
  }

  static void storeF16(const GemmProblem& P, const float* c32, int64_t r0, int64_t r1) {
    for (int64_t r = r0; r < r1; r++) Arch::f2hRow(c32 + r * P.n, static_cast<uint16_t*>(P.C) + r * P.ldc, P.n);
  }

  /** One whole product on one worker. */
  static void serial(const GemmProblem& P, KernelWorkspace::PerWorker& w) {
    ensure(w.aPack, MC * KC);
    ensure(w.bPack, KC * NC);
    int64_t ldc;
    float* C = target(P, w.c32, ldc);
    for (int64_t jc = 0; jc < P.n; jc += NC) {
      const int64_t nc = std::min(NC, P.n - jc);
      for (int64_t pc = 0; pc < P.k; pc += KC) {
        const int64_t kc = std::min(KC, P.k - pc);
        for (int64_t q = 0; q < (nc + NR - 1) / NR; q++) packBPanel(P, pc, kc, jc, nc, q, w.bPack.data());
        for (int64_t ic = 0; ic < P.m; ic += MC) {
          const int64_t mc = std::min(MC, P.m - ic);
          packA(P, ic, mc, pc, kc, w.aPack.data());
          macro(w.aPack.data(), w.bPack.data(), mc, nc, kc, C + ic * ldc + jc, ldc, pc > 0);
        }
      }
    }
    if (P.f16) storeF16(P, C, 0, P.m);
  }

  /** One product with its rows split across the pool. */
  static void split(const GemmProblem& P, ThreadPool& pool, KernelWorkspace& ws) {
    const int threads = pool.size();
    ensure(ws.bPack, KC * NC);
    int64_t ldc;
    float* C = target(P, ws.c32, ldc);
    // Rows per worker, in whole MR panels, so no micro-tile straddles two workers.
    const int64_t panels = (P.m + MR - 1) / MR;
    const int64_t rowsPer = ((panels + threads - 1) / threads) * MR;
    for (int64_t jc = 0; jc < P.n; jc += NC) {
      const int64_t nc = std::min(NC, P.n - jc);
      const int64_t bPanels = (nc + NR - 1) / NR;
      for (int64_t pc = 0; pc < P.k; pc += KC) {
        const int64_t kc = std::min(KC, P.k - pc);
        pool.parallelFor(threads, [&](int t, int) {
          for (int64_t q = t; q < bPanels; q += threads) packBPanel(P, pc, kc, jc, nc, q, ws.bPack.data());
        });
        pool.parallelFor(threads, [&](int t, int worker) {
          auto& w = ws.workers[(size_t)worker];
          ensure(w.aPack, MC * KC);
          const int64_t r0 = t * rowsPer, r1 = std::min(P.m, r0 + rowsPer);
          for (int64_t ic = r0; ic < r1; ic += MC) {
            const int64_t mc = std::min(MC, r1 - ic);
            packA(P, ic, mc, pc, kc, w.aPack.data());
            macro(w.aPack.data(), ws.bPack.data(), mc, nc, kc, C + ic * ldc + jc, ldc, pc > 0);
          }
        });
      }
    }
    if (P.f16) {
      pool.parallelFor(threads, [&](int t, int) {
        const int64_t r0 = t * rowsPer, r1 = std::min(P.m, r0 + rowsPer);
        if (r0 < r1) storeF16(P, C, r0, r1);
      });
    }
  }

  static void gemm(const GemmProblem* problems, int count, ThreadPool& pool, KernelWorkspace& ws) {
    if ((int)ws.workers.size() < pool.size()) ws.workers.resize((size_t)pool.size());
    const GemmProblem& first = problems[0];
    const double flopsEach = 2.0 * (double)first.m * (double)first.n * (double)first.k;
    if (count >= pool.size() || flopsEach < 2.0e6) {
      // Whole products per task; tiny products also go this way since splitting them costs more than it saves.
      pool.parallelFor(count, [&](int t, int worker) { serial(problems[t], ws.workers[(size_t)worker]); });
    } else {
      for (int b = 0; b < count; b++) split(problems[b], pool, ws);
    }
  }

  // ------------------------------------------------------------------------------------ GEMV

  /** Rows [r0, r1) of y = A·x, four rows at a time so each load of x serves four rows. */
  static void gemvRows(const GemvProblem& P, const float* x32, int64_t r0, int64_t r1, float* y32) {
    int64_t i = r0;
    if (P.f16) {
      const uint16_t* A = static_cast<const uint16_t*>(P.A);
      for (; i + 4 <= r1; i += 4) Arch::dot4F16(A + i * P.n, P.n, x32, P.n, y32 + i);
      for (; i < r1; i++) y32[i] = Arch::dotF16(A + i * P.n, x32, P.n);
    } else {
      const float* A = static_cast<const float*>(P.A);
      for (; i + 4 <= r1; i += 4) Arch::dot4F32(A + i * P.n, P.n, x32, P.n, y32 + i);
      for (; i < r1; i++) y32[i] = Arch::dotF32(A + i * P.n, x32, P.n);
    }
  }

  /**
   * Partial y = Aᵀ·x over rows [r0, r1) into acc (n values): rows of A streamed whole and in order
   * (what hardware prefetchers follow best), each scaled by x[i] and added to acc, which stays in
   * L1/L2 in column tiles. Workers take row ranges; their partial sums are added at the end.
   */
  static void gemvColsPartial(const GemvProblem& P, const float* x32, int64_t r0, int64_t r1, float* acc) {
    constexpr int64_t W = 8192;
    std::fill(acc, acc + P.n, 0.0f);
    for (int64_t j0 = 0; j0 < P.n; j0 += W) {
      const int64_t w = std::min(W, P.n - j0);
      int64_t i = r0;
      // Four rows per pass: one load and store of acc serves four rows.
      for (; i + 4 <= r1; i += 4) {
        if (P.f16)
          Arch::axpy4F16(acc + j0, static_cast<const uint16_t*>(P.A) + i * P.n + j0, P.n, x32 + i, w);
        else
          Arch::axpy4F32(acc + j0, static_cast<const float*>(P.A) + i * P.n + j0, P.n, x32 + i, w);
      }
      for (; i < r1; i++) {
        if (P.f16)
          Arch::axpyF16(acc + j0, static_cast<const uint16_t*>(P.A) + i * P.n + j0, x32[i], w);
        else
          Arch::axpyF32(acc + j0, static_cast<const float*>(P.A) + i * P.n + j0, x32[i], w);
      }
    }
  }

  /**
   * Where a worker's Aᵀ·x partial sums go: inside `storage`, at a fixed distance (mod 4 KiB) from
   * A's start, chosen so that no store to the sums shares its low 12 address bits with a load of
   * the four rows of A read in the same or the next few steps (4K aliasing: the core then treats
   * the load as depending on the store and waits). Left to malloc, that distance was whatever the
   * allocation gave, and with it the speed. The sums sit a little below each row's offset, so
   * stores trail the loads. Storage is grown, never shrunk, so the pointer is stable across runs.
   */
  static float* accFor(const GemvProblem& P, std::vector<float>& storage) {
    constexpr uintptr_t kPage = 4096, kWindow = 512;
    const uintptr_t rowBytes = (uintptr_t)P.n * (P.f16 ? 2 : 4);
    const uintptr_t aOffset = reinterpret_cast<uintptr_t>(P.A) % kPage;
    uintptr_t delta = kPage - kWindow;  // acc offset minus A's offset, mod a page
    for (; delta >= kWindow; delta -= 64) {
      bool clear = true;
      for (uintptr_t r = 0; r < 4 && clear; r++)
        clear = (delta + kPage * 4 - (r * rowBytes) % kPage) % kPage >= kWindow;
      if (clear) break;
    }
    ensure(storage, (size_t)P.n + 2 * kPage / sizeof(float));
    const uintptr_t base = reinterpret_cast<uintptr_t>(storage.data());
    const uintptr_t page = (base + kPage - 1) / kPage * kPage;
    return reinterpret_cast<float*>(page + (aOffset + delta) % kPage);
  }

  static void gemv(const GemvProblem& P, ThreadPool& pool, KernelWorkspace& ws) {
    const int threads = std::max(1, pool.size());
    if ((int)ws.workers.size() < threads) ws.workers.resize((size_t)threads);
    const int64_t xLen = P.trans ? P.m : P.n, yLen = P.trans ? P.n : P.m;
    const float* x32;
    if (P.f16) {
      ensure(ws.bPack, (size_t)xLen);
      Arch::h2fRow(static_cast<const uint16_t*>(P.x), ws.bPack.data(), xLen);
      x32 = ws.bPack.data();
    } else {
      x32 = static_cast<const float*>(P.x);
    }
    float* y32;
    if (P.f16) {
      ensure(ws.c32, (size_t)yLen);
      y32 = ws.c32.data();
    } else {
      y32 = static_cast<float*>(P.y);
    }
    // Small products run on the calling thread: waking the pool costs more than they take.
    const bool inline_ = (double)P.m * (double)P.n < 128.0 * 1024.0 || threads == 1;
    const int parts = inline_ ? 1 : threads;
    // Both orientations split the rows of A: y's rows directly, or the depth of Aᵀ·x (then summed).
    const int64_t per = (P.m + parts - 1) / parts;
    auto body = [&](int t, int) {
      const int64_t r0 = std::min(P.m, t * per), r1 = std::min(P.m, r0 + per);
      if (P.trans) {
        gemvColsPartial(P, x32, r0, r1, accFor(P, ws.workers[(size_t)t].acc));
      } else if (r0 < r1) {
        gemvRows(P, x32, r0, r1, y32);
      }
    };
    if (inline_)
      body(0, 0);
    else
      pool.parallelFor(parts, body);
    if (P.trans) {
      const float* acc0 = accFor(P, ws.workers[0].acc);
      std::copy(acc0, acc0 + P.n, y32);
      for (int t = 1; t < parts; t++) {
        const float* acc = accFor(P, ws.workers[(size_t)t].acc);
        for (int64_t j = 0; j < P.n; j++) y32[j] += acc[j];
      }
    }
    if (P.f16) Arch::f2hRow(y32, static_cast<uint16_t*>(P.y), yLen);
  }

  static constexpr CpuKernels table(const char* isa) { return CpuKernels{isa, &gemm, &gemv}; }
};

}  // namespace gpubench::cpu
