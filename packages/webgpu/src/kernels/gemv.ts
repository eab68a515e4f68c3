/**
 * Matrix-vector products in WGSL, A row-major m x n (core's layout); also the linear-map VJP,
 * which is exactly y = Aᵀ·v.
 *
 * - y = A·x: one 64-invocation workgroup per row; invocations stride along the row (neighbours
 *   read neighbouring addresses), then a tree reduction in workgroup memory. Rows beyond 65535
 *   spill into the grid's y dimension.
 * - y = Aᵀ·x: one invocation per column, walking down the rows; neighbouring invocations read
 *   neighbouring addresses of each row. Four partial sums shorten the dependency chain.
 *
 * Memory-bound either way; f16 halves the bytes read. Accumulation is f32.
 */
import type { Dtype } from '@gpubench/core'
import { ceilDiv, grid1d, header, storageType, u32, type Workgroups } from './wgsl.ts'

export interface GemvShape {
  readonly m: number
  readonly n: number
  readonly dtype: Dtype
  readonly trans: boolean
}

const ROW_WORKGROUP = 64
const COLUMN_WORKGROUP = 64

export function gemvWorkgroups(s: GemvShape): Workgroups {
  return s.trans ? grid1d(ceilDiv(s.n, COLUMN_WORKGROUP)) : grid1d(s.m)
}

export function gemvWgsl(s: GemvShape): string {
  return s.trans ? columnsKernel(s) : rowsKernel(s)
}

function bindings(T: string): string {
  return `@group(0) @binding(0) var<storage, read> A: array<${T}>;
@group(0) @binding(1) var<storage, read> x: array<${T}>;
@group(0) @binding(2) var<storage, read_write> y: array<${T}>;`
}

function rowsKernel(s: GemvShape): string {
  const T = storageType(s.dtype)
  return `${header(s.dtype)}
const M: u32 = ${u32(s.m)};
const N: u32 = ${u32(s.n)};

${bindings(T)}

var<workgroup> partial: array<f32, ${ROW_WORKGROUP}>;

@compute @workgroup_size(${ROW_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let row = wg.x + wg.y * groups.x;
  if (row >= M) { return; }
  let base = row * N;
  var sum = 0.0;
  for (var c = t; c < N; c += ${ROW_WORKGROUP}u) {
    sum = fma(f32(A[base + c]), f32(x[c]), sum);
  }
  partial[t] = sum;
  workgroupBarrier();
  for (var stride = ${ROW_WORKGROUP / 2}u; stride > 0u; stride = stride / 2u) {
    if (t < stride) { partial[t] = partial[t] + partial[t + stride]; }
    workgroupBarrier();
  }
  if (t == 0u) { y[row] = ${T}(partial[0]); }
}
`
}

function columnsKernel(s: GemvShape): string {
  const T = storageType(s.dtype)
  return `${header(s.dtype)}
const M: u32 = ${u32(s.m)};
const N: u32 = ${u32(s.n)};

${bindings(T)}

@compute @workgroup_size(${COLUMN_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_index) t: u32) {
  let c = (wg.x + wg.y * groups.x) * ${COLUMN_WORKGROUP}u + t;
  if (c >= N) { return; }
  var s0 = 0.0;
  var s1 = 0.0;
  var s2 = 0.0;
  var s3 = 0.0;
  var r = 0u;
  for (; r + 4u <= M; r += 4u) {
    s0 = fma(f32(A[r * N + c]), f32(x[r]), s0);
    s1 = fma(f32(A[(r + 1u) * N + c]), f32(x[r + 1u]), s1);
    s2 = fma(f32(A[(r + 2u) * N + c]), f32(x[r + 2u]), s2);
    s3 = fma(f32(A[(r + 3u) * N + c]), f32(x[r + 3u]), s3);
  }
  for (; r < M; r++) {
    s0 = fma(f32(A[r * N + c]), f32(x[r]), s0);
  }
  y[c] = ${T}((s0 + s1) + (s2 + s3));
}
`
}
