/**
 * The workgroup-memory GEMM (variant 'tiled'), the shape GPUs reward.
 *
 * Shape of the kernel: a 16 x 16 workgroup computes a 64 x 64 tile of C; each invocation holds a
 * 4 x 4 block of accumulators as four vec4<f32> (register blocking, vector FMAs). The reduction
 * walks K in steps of 16: the workgroup stages a 64 x 16 slice of op(A) and a 16 x 64 slice of
 * op(B) in workgroup memory as vec4s, so each invocation's inner step is two vec4 loads and four
 * vec4 FMAs. Loads from storage are ordered so neighbouring invocations read neighbouring
 * addresses for every transpose combination. Elements outside the matrices are staged as zero
 * and outputs outside are not written, so any size works (odd sizes included).
 *
 * f16: storage is f16 (needs the `shader-f16` feature), staging and accumulation are f32, the
 * result is rounded to f16 once, when it is stored.
 *
 * Dimensions are baked into the source as constants, so the compiler sees fixed trip counts and
 * strides; each shape compiles its own pipeline (part of the cold run).
 */
import type { GemmShape } from './gemm.ts'
import { header, storageType, u32 } from './wgsl.ts'

export function gemmTiledWgsl(s: GemmShape): string {
  const T = storageType(s.dtype)
  // op(A)[r][p]: A is M x K, or K x M when transposed. op(B)[p][c]: B is K x N, or N x K.
  const aIndex = s.transA ? 'p * M + r' : 'r * K + p'
  const bIndex = s.transB ? 'c * K + p' : 'p * N + c'
  // Which of the 1024 staged elements invocation t loads at step l, so that consecutive t read
  // consecutive addresses: along K when the source is K-contiguous, along M or N otherwise.
  const aCoords = s.transA ? 'let r = e % 64u;\n      let q = e / 64u;' : 'let r = e / 16u;\n      let q = e % 16u;'
  const bCoords = s.transB ? 'let c = e / 16u;\n      let q = e % 16u;' : 'let c = e % 64u;\n      let q = e / 64u;'
  const fmas = [0, 1, 2, 3].map((i) => `      acc${i} = fma(vec4<f32>(a[${i}]), b, acc${i});`).join('\n')
  const stores = [0, 1, 2, 3]
    .map(
      (i) => `  {
    let r = row0 + lid.y * 4u + ${i}u;
    if (r < M) {
      let rowBase = cBase + r * N;
      for (var j = 0u; j < 4u; j++) {
        let c = col0 + lid.x * 4u + j;
        if (c < N) { C[rowBase + c] = ${T}(acc${i}[j]); }
      }
    }
  }`,
    )
    .join('\n')
  return `${header(s.dtype)}
const M: u32 = ${u32(s.m)};
const N: u32 = ${u32(s.n)};
const K: u32 = ${u32(s.k)};
const TK: u32 = 16u;

@group(0) @binding(0) var<storage, read> A: array<${T}>;
@group(0) @binding(1) var<storage, read> B: array<${T}>;
@group(0) @binding(2) var<storage, read_write> C: array<${T}>;

// tileA[q * 16 + i] holds op(A) rows 4i..4i+3 at depth q; tileB[q * 16 + j] holds op(B) columns 4j..4j+3 at depth q.
var<workgroup> tileA: array<vec4<f32>, 256>;
var<workgroup> tileB: array<vec4<f32>, 256>;

fn loadA(base: u32, r: u32, p: u32) -> f32 {
  if (r >= M || p >= K) { return 0.0; }
  return f32(A[base + ${aIndex}]);
}

fn loadB(base: u32, p: u32, c: u32) -> f32 {
  if (p >= K || c >= N) { return 0.0; }
  return f32(B[base + ${bIndex}]);
}

@compute @workgroup_size(16, 16, 1)
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let row0 = wg.y * 64u;
  let col0 = wg.x * 64u;
  let aBase = wg.z * M * K;
  let bBase = wg.z * K * N;
  let cBase = wg.z * M * N;
  var acc0 = vec4<f32>(0.0);
  var acc1 = vec4<f32>(0.0);
  var acc2 = vec4<f32>(0.0);
  var acc3 = vec4<f32>(0.0);
  for (var p0 = 0u; p0 < K; p0 += TK) {
    for (var l = 0u; l < 4u; l++) {
      let e = t + l * 256u;
      {
      ${aCoords}
      tileA[q * 16u + r / 4u][r % 4u] = loadA(aBase, row0 + r, p0 + q);
      }
      {
      ${bCoords}
      tileB[q * 16u + c / 4u][c % 4u] = loadB(bBase, p0 + q, col0 + c);
      }
    }
    workgroupBarrier();
    for (var q = 0u; q < TK; q++) {
      let a = tileA[q * 16u + lid.y];
      let b = tileB[q * 16u + lid.x];
${fmas}
    }
    workgroupBarrier();
  }
${stores}
}
`
}
