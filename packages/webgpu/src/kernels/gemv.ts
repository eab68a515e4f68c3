/**
 * Matrix-vector products in WGSL, A row-major m x n (core's layout); also the linear-map VJP,
 * which is exactly y = Aᵀ·v.
 *
 * - y = A·x: 8 invocations per row, 32 rows per workgroup; the 8 stride along their row together
 *   (neighbours read neighbouring addresses), then one barrier and a sum of 8 partials. A whole
 *   workgroup per row with a tree reduction ran 2x slower on lavapipe (six barriers per row).
 *   Row blocks beyond 65535 spill into the grid's y dimension.
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

const LANES_PER_ROW = 8
const ROWS_PER_WORKGROUP = 32
const COLUMN_WORKGROUP = 64

export function gemvWorkgroups(s: GemvShape): Workgroups {
  return s.trans ? grid1d(ceilDiv(s.n, COLUMN_WORKGROUP)) : grid1d(ceilDiv(s.m, ROWS_PER_WORKGROUP))
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

var<workgroup> partial: array<f32, ${LANES_PER_ROW * ROWS_PER_WORKGROUP}>;

@compute @workgroup_size(${LANES_PER_ROW}, ${ROWS_PER_WORKGROUP})
fn main(@builtin(workgroup_id) wg: vec3<u32>,
        @builtin(num_workgroups) groups: vec3<u32>,
        @builtin(local_invocation_id) lid: vec3<u32>) {
  let block = wg.x + wg.y * groups.x;
  let wanted = block * ${ROWS_PER_WORKGROUP}u + lid.y;
  // Rows past the end compute a copy of the last row (loads stay in bounds, the barrier stays uniform) and store nothing.
  let row = min(wanted, M - 1u);
  let base = row * N;
  var sum = 0.0;
  for (var c = lid.x; c < N; c += ${LANES_PER_ROW}u) {
    sum = fma(f32(A[base + c]), f32(x[c]), sum);
  }
  partial[lid.y * ${LANES_PER_ROW}u + lid.x] = sum;
  workgroupBarrier();
  if (lid.x == 0u && wanted < M) {
    var total = 0.0;
    for (var i = 0u; i < ${LANES_PER_ROW}u; i++) { total += partial[lid.y * ${LANES_PER_ROW}u + i]; }
    y[row] = ${T}(total);
  }
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
