/**
 * The WGSL of the WebGPU training step (f32, or f16 mixed precision): one compute shader per kernel of the model, with
 * the session's shapes baked in as constants (a session has one shape, so no uniforms are
 * needed), written to be read against core's float64 reference (core/src/train/reference.ts),
 * whose conventions they share (workload.ts).
 *
 * No float atomics (WGSL has atomics on i32/u32 only): every gradient element is written by the
 * one thread that owns it, summing its contributions in a fixed order, so a step is
 * deterministic. The scatter-add of the embedding's gradient walks, per vocabulary row, the
 * positions holding that token (a CSR index the session builds when the tokens are uploaded).
 *
 * Mixed precision (dtype f16, as the CPU backend's): every product of a linear layer and of the
 * head reads f16 operands (an f16 copy of the f32 master weights made at the start of each step,
 * f16 copies of the activations, written by the kernels that compute them: withHalfCopy) and rounds its f32 accumulation to f16 once,
 * as it is stored; everything else (element-wise kernels, attention, gradients of biases
 * and LayerNorms, AdamW and its state) stays f32. The loss is scaled by a dynamic loss scale that
 * lives on the device with the overflow flag (the `scaler` buffer, LossScaler below), so steps
 * batched in one submission skip their update on overflow without a round trip to the host.
 *
 * `fault` flips the sign of one kernel's backward output, as core's TRAIN_FAULTS, for the test
 * that shows a wrong gradient is caught.
 */
import type { TrainFault, TrainWorkload } from '@gpubench/core'

/** A storage binding of a kernel: its WGSL name, element type and access. */
export interface KernelBinding {
  readonly name: string
  readonly type: 'f32' | 'f16' | 'i32' | 'u32' | 'atomic<u32>'
  readonly access: 'read' | 'read_write'
}

/**
 * The shape every kernel reads from its uniform (binding 0): the model's dimensions, and a
 * product's or a column sum's own. Read at run time rather than baked in as constants, so the
 * shader compiler does not unroll loops hundreds of iterations long (on lavapipe that took
 * LLVM over 20 s for the quick preset's step), and kernels of different sizes share pipelines.
 */
export const SHAPE_FIELDS = [
  'B',
  'T',
  'N',
  'D',
  'H',
  'HS',
  'MLP',
  'V',
  'P',
  'D3',
  'gM',
  'gN',
  'gK',
  'aRow',
  'aCol',
  'bRow',
  'bCol',
] as const
export type ShapeField = (typeof SHAPE_FIELDS)[number]

const SHAPE_STRUCT = `struct Shape {\n${SHAPE_FIELDS.map((f) => `  ${f}: u32,`).join('\n')}\n}`
const DIM_LETS = SHAPE_FIELDS.slice(0, 10)
  .map((f) => `  let ${f} = S.${f};`)
  .join('\n')

/** The uniform's contents for a kernel: the model's dimensions and the kernel's own fields. */
export function shapeUniform(d: Dims, own: Partial<Record<ShapeField, number>> = {}): Uint32Array {
  const out = new Uint32Array(4 * Math.ceil(SHAPE_FIELDS.length / 4))
  const dims: Partial<Record<ShapeField, number>> = { ...d, D3: 3 * d.D, ...own }
  SHAPE_FIELDS.forEach((f, i) => {
    out[i] = dims[f] ?? 0
  })
  return out
}

export interface Kernel {
  readonly label: string
  readonly wgsl: string
  /** Storage bindings in @binding order, from 1 (binding 0 is the Shape uniform). */
  readonly bindings: readonly KernelBinding[]
  readonly workgroups: readonly [number, number, number]
  /** The kernel's own fields of the Shape uniform (a product's sizes and strides). */
  readonly shape: Partial<Record<ShapeField, number>>
  /** Mixed precision: the output this kernel also writes as an f16 copy (withHalfCopy), bound last. */
  readonly halfCopy?: string
}

/** Workgroups per dimension WebGPU guarantees (maxComputeWorkgroupsPerDimension's default). */
const MAX_GROUPS = 65535
const WG = 64

const r = (name: string, type: KernelBinding['type'] = 'f32'): KernelBinding => ({ name, type, access: 'read' })
const w = (name: string, type: KernelBinding['type'] = 'f32'): KernelBinding => ({ name, type, access: 'read_write' })

/** A WGSL f32 literal of a float64 value (shortest round-trip form, so the literal rounds to the nearest f32). */
export function f32Literal(x: number): string {
  if (!Number.isFinite(x)) throw new Error(`f32Literal: ${x} is not finite`)
  const s = String(x)
  return /[.eE]/.test(s) ? s : `${s}.0`
}

function declare(bindings: readonly KernelBinding[]): string {
  return [
    ...(bindings.some((b) => b.type === 'f16') ? ['enable f16;'] : []),
    SHAPE_STRUCT,
    '@group(0) @binding(0) var<uniform> S: Shape;',
    ...bindings.map((b, i) => `@group(0) @binding(${i + 1}) var<storage, ${b.access}> ${b.name}: array<${b.type}>;`),
  ].join('\n')
}

/** One thread per element of `count`, over a 2-D grid when one dimension cannot hold them. */
function elementwise(
  label: string,
  count: number,
  bindings: KernelBinding[],
  body: string,
  consts = '',
  shape: Partial<Record<ShapeField, number>> = {},
): Kernel {
  const groups = Math.ceil(count / WG)
  const x = Math.min(groups, MAX_GROUPS)
  const y = Math.ceil(groups / x)
  const wgsl = `${declare(bindings)}
${consts}
@compute @workgroup_size(${WG})
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * ${x * WG}u;
  if (i >= ${count}u) { return; }
${DIM_LETS}
${body}
}
`
  return { label, wgsl, bindings, workgroups: [x, y, 1], shape }
}

/** The element strides of a GEMM operand: element (row, k) at row·rowStride + k·colStride. */
export interface Strides {
  readonly row: number
  readonly col: number
}

export interface GemmSpec {
  readonly label: string
  /** C is M x N (row-major), K the reduction. */
  readonly M: number
  readonly N: number
  readonly K: number
  readonly a: Strides
  readonly b: Strides
  /** Scales the product (a fault's sign). */
  readonly alpha?: number
  readonly bias?: boolean
  /** Adds R (M x N, row-major): the residual stream. */
  readonly residual?: boolean
  /**
   * Mixed precision: A and B stored as f16, f32 accumulation, the product rounded to f16 before
   * alpha, the bias and the residual are applied in f32 (the CPU backend's order).
   */
  readonly f16?: boolean
}

/**
 * f16 rounding of an f32 value, in f32, as a conversion to f16 on the CPU: to nearest, ties to
 * even (f16 subnormals included); from 65520 on (the midpoint above f16's largest finite value,
 * 65504) infinity with the value's sign; NaN stays NaN. Done on the bits rather than with f16():
 * WGSL leaves the rounding of a conversion to the implementation (Vulkan allows rounding toward
 * zero) and an out-of-range conversion undefined, and a shader compiler may fold the round trip
 * f32(f16(x)) into x (lavapipe's does: the products' results were then not rounded at all).
 * round() is ties-to-even.
 */
const ROUND_F16 = `fn round_f16(x: f32) -> f32 {
  let a = abs(x);
  if (!(a < 65520.0)) { return x * 3.4e38; }
  if (a < 6.103515625e-5) { return round(x * 16777216.0) / 16777216.0; }
  let bits = bitcast<u32>(x);
  return bitcast<f32>((bits + 0xfffu + ((bits >> 13u) & 1u)) & 0xffffe000u);
}`

/** Rows and columns of C per invocation, and invocations per workgroup along each (an 8 x 8 workgroup covers 32 x 32). */
const BLOCK = 4
const WIDTH = 8
const TILE = BLOCK * WIDTH

/**
 * C = alpha·op(A)·op(B) (+ bias per column) (+ R), op given by strides, so one kernel serves the
 * forward products and both products of each backward (Xᵀ·dY and dY·Wᵀ) without transposing.
 * C is written, never accumulated.
 *
 * Register-blocked without workgroup memory, as the package's 'registers' GEMM
 * (kernels/gemm-registers.ts), whose layout (row-major operands with transpose flags, sizes baked
 * in) does not fit strided operands with a bias and a residual: each invocation owns 4 rows and
 * 4 columns interleaved with its neighbours' (column l.x + 8j), 16 FMAs per 8 loads, with no
 * barrier (on lavapipe, where invocations are SIMD lanes of CPU threads, barriers and staging
 * cost more than they save). Rows and columns outside C are clamped for loading and never stored.
 */
export function gemm(s: GemmSpec): Kernel {
  const half = s.f16 === true
  const bindings = [r('A', half ? 'f16' : 'f32'), r('B', half ? 'f16' : 'f32')]
  if (s.bias) bindings.push(r('bias'))
  if (s.residual) bindings.push(r('R'))
  bindings.push(w('C'))
  const alpha = s.alpha ?? 1
  const idx = Array.from({ length: BLOCK }, (_, i) => i)
  // Mixed precision: f16 operands widened as loaded (the products of f16 values are exact in f32).
  const load = (operand: 'A' | 'B', at: string) => (half ? `f32(${operand}[${at}])` : `${operand}[${at}]`)
  const wgsl = `${declare(bindings)}
${half ? ROUND_F16 : ''}
@compute @workgroup_size(${WIDTH}, ${WIDTH})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_id) l: vec3<u32>) {
  let M = S.gM;
  let N = S.gN;
  let K = S.gK;
  let row0 = wg.y * ${TILE}u + l.y * ${BLOCK}u;
  let col0 = wg.x * ${TILE}u + l.x;
${idx.map((i) => `  let ra${i} = min(row0 + ${i}u, M - 1u) * S.aRow;`).join('\n')}
${idx.map((j) => `  let cb${j} = min(col0 + ${WIDTH * j}u, N - 1u) * S.bCol;`).join('\n')}
${idx.flatMap((i) => idx.map((j) => `  var acc${i}_${j} = 0.0;`)).join('\n')}
  for (var k = 0u; k < K; k++) {
    let ka = k * S.aCol;
    let kb = k * S.bRow;
${idx.map((j) => `    let b${j} = ${load('B', `kb + cb${j}`)};`).join('\n')}
${idx
  .flatMap((i) => [
    `    let a${i} = ${load('A', `ra${i} + ka`)};`,
    ...idx.map((j) => `    acc${i}_${j} = fma(a${i}, b${j}, acc${i}_${j});`),
  ])
  .join('\n')}
  }
${idx
  .flatMap((i) => [
    `  if (row0 + ${i}u < M) {`,
    ...idx.flatMap((j) => [
      `    if (col0 + ${WIDTH * j}u < N) {`,
      `      let at = (row0 + ${i}u) * N + col0 + ${WIDTH * j}u;`,
      `      var c = ${f32Literal(alpha)} * ${half ? `round_f16(acc${i}_${j})` : `acc${i}_${j}`};`,
      ...(s.bias ? [`      c += bias[col0 + ${WIDTH * j}u];`] : []),
      ...(s.residual ? ['      c += R[at];'] : []),
      '      C[at] = c;',
      '    }',
    ]),
    '  }',
  ])
  .join('\n')}
}
`
  return {
    label: s.label,
    wgsl,
    bindings,
    workgroups: [Math.ceil(s.N / TILE), Math.ceil(s.M / TILE), 1],
    shape: { gM: s.M, gN: s.N, gK: s.K, aRow: s.a.row, aCol: s.a.col, bRow: s.b.row, bCol: s.b.col },
  }
}

/** The step's dimensions, as the kernels use them. */
export interface Dims {
  readonly B: number
  readonly T: number
  readonly N: number
  readonly D: number
  readonly H: number
  readonly HS: number
  readonly MLP: number
  readonly V: number
  readonly P: number
}

export function dimsOf(wl: TrainWorkload): Dims {
  const m = wl.model
  return {
    B: wl.batch,
    T: wl.seq,
    N: wl.batch * wl.seq,
    D: m.dModel,
    H: m.heads,
    HS: m.dModel / m.heads,
    MLP: m.mlp,
    V: m.vocab,
    P: m.positions,
  }
}

const sign = (fault: TrainFault | undefined, kind: TrainFault) => (fault === kind ? '-1.0' : '1.0')

/** x0 = wte[token] + wpe[position]. */
export function embedForward(d: Dims): Kernel {
  return elementwise(
    'embedding',
    d.N * d.D,
    [r('tokens', 'i32'), r('wte'), r('wpe'), w('x')],
    `  let n = i / D; let c = i % D; let t = n % T; let b = n / T;
  let tok = u32(tokens[b * (T + 1u) + t]);
  x[i] = wte[tok * D + c] + wpe[t * D + c];`,
  )
}

/** LayerNorm of each row: out, and the row's mean and 1/σ for the backward. */
export function layerNormForward(d: Dims, label: string): Kernel {
  return elementwise(
    label,
    d.N,
    [r('x'), r('gamma'), r('beta'), w('out'), w('mean'), w('rstd')],
    `  let base = i * D;
  var mu = 0.0;
  for (var c = 0u; c < D; c++) { mu += x[base + c]; }
  mu /= f32(D);
  var v = 0.0;
  for (var c = 0u; c < D; c++) { let e = x[base + c] - mu; v += e * e; }
  v /= f32(D);
  let rs = 1.0 / sqrt(v + 1e-5);
  mean[i] = mu;
  rstd[i] = rs;
  for (var c = 0u; c < D; c++) { out[base + c] = (x[base + c] - mu) * rs * gamma[c] + beta[c]; }`,
  )
}

/** LayerNorm's input gradient per row, added to `resid` when given (the residual stream's gradient). */
export function layerNormBackwardRows(d: Dims, label: string, resid: boolean, fault?: TrainFault): Kernel {
  const bindings = [r('dout'), r('x'), r('mean'), r('rstd'), r('gamma')]
  if (resid) bindings.push(r('resid'))
  bindings.push(w('dx'))
  return elementwise(
    label,
    d.N,
    bindings,
    `  let base = i * D;
  let mu = mean[i];
  let rs = rstd[i];
  var s1 = 0.0;
  var s2 = 0.0;
  for (var c = 0u; c < D; c++) {
    let xhat = (x[base + c] - mu) * rs;
    let dxhat = dout[base + c] * gamma[c];
    s1 += dxhat;
    s2 += dxhat * xhat;
  }
  s1 /= f32(D);
  s2 /= f32(D);
  for (var c = 0u; c < D; c++) {
    let xhat = (x[base + c] - mu) * rs;
    let dxhat = dout[base + c] * gamma[c];
    dx[base + c] = ${resid ? 'resid[base + c] + ' : ''}${sign(fault, 'layernorm')} * rs * (dxhat - s1 - xhat * s2);
  }`,
  )
}

/** LayerNorm's scale and shift gradients: one thread per column, summing over the rows in order. */
export function layerNormBackwardParams(d: Dims, label: string): Kernel {
  return elementwise(
    label,
    d.D,
    [r('dout'), r('x'), r('mean'), r('rstd'), w('dgamma'), w('dbeta')],
    `  var sg = 0.0;
  var sb = 0.0;
  for (var n = 0u; n < N; n++) {
    let at = n * D + i;
    let g = dout[at];
    sg += g * (x[at] - mean[n]) * rstd[n];
    sb += g;
  }
  dgamma[i] = sg;
  dbeta[i] = sb;`,
  )
}

/** A bias's gradient: the column sums of dY (rows x cols). */
export function columnSums(label: string, rows: number, cols: number, fault?: TrainFault): Kernel {
  return elementwise(
    label,
    cols,
    [r('dy'), w('db')],
    `  var s = 0.0;
  for (var n = 0u; n < S.gM; n++) { s += dy[n * S.gN + i]; }
  db[i] = ${sign(fault, 'bias')} * s;`,
    '',
    { gM: rows, gN: cols },
  )
}

/** Causal attention per (batch, head, query): scores, softmax into att (B·H·T·T, zero above the diagonal), then y = att·v. */
export function attentionForward(d: Dims): Kernel {
  return elementwise(
    'attention',
    d.B * d.H * d.T,
    [r('qkv'), w('att'), w('y')],
    `  let t = i % T;
  let h = (i / T) % H;
  let b = i / (T * H);
  let row = i * T;
  let q = (b * T + t) * D3 + h * HS;
  var mx = -3.4e38;
  for (var u = 0u; u <= t; u++) {
    let k = (b * T + u) * D3 + D + h * HS;
    var dot = 0.0;
    for (var c = 0u; c < HS; c++) { dot += qkv[q + c] * qkv[k + c]; }
    let s = dot * SCALE;
    att[row + u] = s;
    mx = max(mx, s);
  }
  var sum = 0.0;
  for (var u = 0u; u <= t; u++) { let e = exp(att[row + u] - mx); att[row + u] = e; sum += e; }
  for (var u = 0u; u < T; u++) {
    if (u <= t) { att[row + u] = att[row + u] / sum; } else { att[row + u] = 0.0; }
  }
  for (var c = 0u; c < HS; c++) {
    var acc = 0.0;
    for (var u = 0u; u <= t; u++) { acc += att[row + u] * qkv[(b * T + u) * D3 + 2u * D + h * HS + c]; }
    y[(b * T + t) * D + h * HS + c] = acc;
  }`,
    attentionConsts(d),
  )
}

function attentionConsts(d: Dims): string {
  return `const SCALE = ${f32Literal(1 / Math.sqrt(d.HS))};`
}

/**
 * Attention's backward, first half, per (batch, head, query): dp_u = dy·v_u, then the softmax's
 * ds_u = p_u·(dp_u − Σ_j p_j·dp_j)·scale, written to ds (zero above the diagonal).
 */
export function attentionBackwardScores(d: Dims, fault?: TrainFault): Kernel {
  return elementwise(
    'attention backward (scores)',
    d.B * d.H * d.T,
    [r('dy'), r('qkv'), r('att'), w('ds')],
    `  let t = i % T;
  let h = (i / T) % H;
  let b = i / (T * H);
  let row = i * T;
  let g = (b * T + t) * D + h * HS;
  var inner = 0.0;
  for (var u = 0u; u <= t; u++) {
    let v = (b * T + u) * D3 + 2u * D + h * HS;
    var dot = 0.0;
    for (var c = 0u; c < HS; c++) { dot += dy[g + c] * qkv[v + c]; }
    let dp = ${sign(fault, 'attention')} * dot;
    ds[row + u] = dp;
    inner += att[row + u] * dp;
  }
  for (var u = 0u; u < T; u++) {
    if (u <= t) { ds[row + u] = ${sign(fault, 'softmax')} * att[row + u] * (ds[row + u] - inner) * SCALE; } else { ds[row + u] = 0.0; }
  }`,
    attentionConsts(d),
  )
}

/**
 * Attention's backward, second half: one thread per element of dqkv, each summing its own
 * contributions (dq_t = Σ_{u≤t} ds_tu·k_u, dk_u = Σ_{t≥u} ds_tu·q_t, dv_u = Σ_{t≥u} p_tu·dy_t).
 */
export function attentionBackwardQkv(d: Dims, fault?: TrainFault): Kernel {
  return elementwise(
    'attention backward (q, k, v)',
    d.N * 3 * d.D,
    [r('ds'), r('att'), r('qkv'), r('dy'), w('dqkv')],
    `  let n = i / D3;
  let col = i % D3;
  let b = n / T;
  let t = n % T;
  let part = col / D;
  let h = (col % D) / HS;
  let c = col % HS;
  let head = (b * H + h) * T;
  var acc = 0.0;
  if (part == 0u) {
    for (var u = 0u; u <= t; u++) { acc += ds[(head + t) * T + u] * qkv[(b * T + u) * D3 + D + h * HS + c]; }
  } else if (part == 1u) {
    for (var s = t; s < T; s++) { acc += ds[(head + s) * T + t] * qkv[(b * T + s) * D3 + h * HS + c]; }
  } else {
    for (var s = t; s < T; s++) { acc += att[(head + s) * T + t] * dy[(b * T + s) * D + h * HS + c]; }
    acc *= ${sign(fault, 'attention')};
  }
  dqkv[i] = acc;`,
    attentionConsts(d),
  )
}

const GELU = `const GELU_C = ${f32Literal(Math.sqrt(2 / Math.PI))};
fn tanh_of(x: f32) -> f32 {
  // The argument clamped where tanh is ±1 in f32 already, so no implementation overflows exp().
  return tanh(clamp(GELU_C * (x + 0.044715 * x * x * x), -15.0, 15.0));
}`

/** GPT-2's tanh GELU. */
export function geluForward(d: Dims): Kernel {
  return elementwise(
    'gelu',
    d.N * d.MLP,
    [r('x'), w('y')],
    `  let v = x[i];
  y[i] = 0.5 * v * (1.0 + tanh_of(v));`,
    GELU,
  )
}

export function geluBackward(d: Dims, fault?: TrainFault): Kernel {
  return elementwise(
    'gelu backward',
    d.N * d.MLP,
    [r('x'), r('dy'), w('dx')],
    `  let v = x[i];
  let th = tanh_of(v);
  let grad = 0.5 * (1.0 + th) + 0.5 * v * (1.0 - th * th) * GELU_C * (1.0 + 3.0 * 0.044715 * v * v);
  dx[i] = ${sign(fault, 'gelu')} * grad * dy[i];`,
    GELU,
  )
}

/** Softmax of each row of logits in place (they become probabilities) and each row's cross-entropy. */
export function crossEntropyForward(d: Dims): Kernel {
  return elementwise(
    'cross-entropy',
    d.N,
    [r('tokens', 'i32'), w('logits'), w('losses')],
    `  let label = u32(tokens[(i / T) * (T + 1u) + i % T + 1u]);
  let base = i * V;
  var mx = -3.4e38;
  for (var v = 0u; v < V; v++) { mx = max(mx, logits[base + v]); }
  var sum = 0.0;
  for (var v = 0u; v < V; v++) { sum += exp(logits[base + v] - mx); }
  losses[i] = log(sum) + mx - logits[base + label];
  for (var v = 0u; v < V; v++) { logits[base + v] = exp(logits[base + v] - mx) / sum; }`,
  )
}

/** The mean of the rows' losses, summed in order by one thread. */
export function lossMean(): Kernel {
  return elementwise(
    'loss',
    1,
    [r('losses'), w('loss')],
    `  var s = 0.0;
  for (var n = 0u; n < N; n++) { s += losses[n]; }
  loss[0] = s / f32(N);`,
  )
}

/**
 * dlogits = (probs − onehot(target)) / N, in place over the probabilities; with `scaled` (mixed
 * precision) times the loss scale, read from the scaler, so every activation gradient is scaled.
 */
export function crossEntropyBackward(d: Dims, fault?: TrainFault, scaled = false): Kernel {
  const bindings = [r('tokens', 'i32'), w('logits')]
  if (scaled) bindings.push(r('scaler', 'u32'))
  return elementwise(
    'cross-entropy backward',
    d.N * d.V,
    bindings,
    `  let n = i / V;
  let v = i % V;
  let label = u32(tokens[(n / T) * (T + 1u) + n % T + 1u]);
  var onehot = 0.0;
  if (v == label) { onehot = 1.0; }
  logits[i] = ${sign(fault, 'cross-entropy')} * (logits[i] - onehot) ${scaled ? `* (bitcast<f32>(scaler[${SCALER.scale}]) / f32(N))` : '/ f32(N)'};`,
  )
}

/** Adds the embedding's gradient to wte's (the head wrote it first): row v sums dx over the positions holding token v, in order. */
export function embedBackwardTokens(d: Dims, fault?: TrainFault): Kernel {
  return elementwise(
    'embedding backward (tokens)',
    d.V * d.D,
    [r('dx'), r('rowStart', 'u32'), r('rowIndex', 'u32'), w('dwte')],
    `  let v = i / D;
  let c = i % D;
  var s = 0.0;
  for (var j = rowStart[v]; j < rowStart[v + 1u]; j++) { s += dx[rowIndex[j] * D + c]; }
  dwte[i] = dwte[i] + ${sign(fault, 'embedding')} * s;`,
  )
}

/** Writes wpe's gradient: position p sums dx over the batch (zero for positions beyond the sequence). */
export function embedBackwardPositions(d: Dims, fault?: TrainFault): Kernel {
  return elementwise(
    'embedding backward (positions)',
    d.P * d.D,
    [r('dx'), w('dwpe')],
    `  let p = i / D;
  let c = i % D;
  var s = 0.0;
  if (p < T) {
    for (var b = 0u; b < B; b++) { s += dx[(b * T + p) * D + c]; }
  }
  dwpe[i] = ${sign(fault, 'embedding')} * s;`,
  )
}

/**
 * AdamW over `count` parameters (see workload.ts); the bias corrections 1 − β^t come from the
 * `corrections` buffer (computed in float64 on the host per step, so t never needs a power in f32).
 *
 * With `mixed` (f16 training) the corrections are a table for the updates t, t + 1, ... of a
 * submission, indexed by the scaler's count of updates made in it, and the update is skipped when
 * the scaler's overflow flag is set (a skipped step does not advance t, as on the CPU).
 */
export function adamW(wl: TrainWorkload, count: number, mixed = false): Kernel {
  const bindings = [r('corrections')]
  if (mixed) bindings.push(r('scaler', 'u32'))
  bindings.push(w('p'), r('g'), w('m'), w('v'))
  const corrections = mixed
    ? `  if (scaler[${SCALER.overflow}] != 0u) { return; }
  let k = 4u * scaler[${SCALER.updates}];
  let c1 = corrections[k];
  let c2 = corrections[k + 1u];`
    : `  let c1 = corrections[0];
  let c2 = corrections[1];`
  return elementwise(
    'adamw',
    count,
    bindings,
    `${corrections}
  let gi = g[i];
  let mi = ${f32Literal(wl.beta1)} * m[i] + ${f32Literal(1 - wl.beta1)} * gi;
  let vi = ${f32Literal(wl.beta2)} * v[i] + ${f32Literal(1 - wl.beta2)} * gi * gi;
  m[i] = mi;
  v[i] = vi;
  p[i] = p[i] - ${f32Literal(wl.learningRate)} * (mi / c1 / (sqrt(vi / c2) + ${f32Literal(wl.epsilon)}) + ${f32Literal(wl.weightDecay)} * p[i]);`,
  )
}

/**
 * The dynamic loss scale's state on the device, one u32 per field (the scale as f32 bits), then
 * per step of a submission the scale it ran with and whether its update was skipped, at
 * RECORDS + 2·step.
 */
export const SCALER = {
  /** The loss scale (f32 bits). */
  scale: 0,
  /** Good steps since the scale last changed. */
  good: 1,
  /** Set (non-zero) by the unscale when a scaled gradient is not finite. */
  overflow: 2,
  /** Updates made in this submission: the row of the corrections table the next one uses. */
  updates: 3,
  /** Steps run in this submission: where the next step's record goes. */
  steps: 4,
  /** Steps skipped for overflow since the parameters were set. */
  skipped: 5,
  /** First per-step record (scale bits, skipped). */
  records: 8,
} as const

/** Good steps after which the loss scale doubles (the CPU backend's and PyTorch's GradScaler's 2000). */
export const LOSS_SCALE_GROWTH_INTERVAL = 2000

/**
 * `kernel`, also writing its output `output` as an f16 copy (binding `<output>16`, after the
 * others), rounded as castHalf rounds: every store `output[i] = v;` of the body becomes a store of
 * v to both. So the activations products read in f16 are made by the kernel that computes them,
 * with no dispatch of their own.
 */
export function withHalfCopy(kernel: Kernel, output: string): Kernel {
  const at = kernel.bindings.findIndex((b) => b.name === output)
  if (at < 0 || kernel.bindings[at]!.type !== 'f32' || kernel.bindings[at]!.access !== 'read_write') {
    throw new Error(`${kernel.label}: no f32 output '${output}' to copy to f16`)
  }
  const copy = `${output}16`
  // A store starts a statement (after a line break, ';' or '{'); reads of the output elsewhere are left alone.
  const store = new RegExp(`(^|[;{])(\\s*)${output}\\[([^\\]]+)\\] = ([^;]+);`, 'gm')
  let stores = 0
  const body = kernel.wgsl.replace(store, (_, before: string, space: string, index: string, value: string) => {
    stores++
    return `${before}${space}{ let stored = ${value}; ${output}[${index}] = stored; ${copy}[${index}] = f16(round_f16(stored)); }`
  })
  if (stores === 0) throw new Error(`${kernel.label}: no store to '${output}' found`)
  const declaration = `@group(0) @binding(${kernel.bindings.length + 1}) var<storage, read_write> ${copy}: array<f16>;`
  const wgsl = `enable f16;\n${body.replace(/^enable f16;\n/, '').replace('@compute', `${declaration}\n${ROUND_F16}\n@compute`)}`
  return { ...kernel, wgsl, bindings: [...kernel.bindings, w(copy, 'f16')], halfCopy: output }
}

/**
 * The f16 copy of `count` f32 values that products read: the master weights (the whole parameter
 * buffer, padding included) at the start of each step, an activation after it is written.
 */
export function castHalf(count: number, label: string): Kernel {
  // round_f16 first: the conversion of a value f16 holds exactly is exact, whatever the implementation's rounding.
  return elementwise(label, count, [r('x'), w('x16', 'f16')], '  x16[i] = f16(round_f16(x[i]));', ROUND_F16)
}

/**
 * Divides every gradient by the loss scale, and sets the scaler's overflow flag when any scaled
 * gradient is infinite or NaN (tested on the bits: WGSL has no isnan or isinf).
 */
export function unscale(count: number): Kernel {
  return elementwise(
    'unscale gradients',
    count,
    [w('g'), w('scaler', 'atomic<u32>')],
    `  let g_i = g[i];
  if ((bitcast<u32>(g_i) & 0x7f800000u) == 0x7f800000u) { atomicOr(&scaler[${SCALER.overflow}], 1u); }
  g[i] = g_i * (1.0 / bitcast<f32>(atomicLoad(&scaler[${SCALER.scale}])));`,
  )
}

/**
 * The loss scale's update after a step (one thread, after AdamW read the flag): records the
 * step's scale and whether it was skipped; on overflow halves the scale (not below 1), else counts
 * the update and doubles the scale after LOSS_SCALE_GROWTH_INTERVAL good steps; clears the flag.
 */
export function lossScaleUpdate(): Kernel {
  const f = SCALER
  return elementwise(
    'loss scale',
    1,
    [w('scaler', 'u32')],
    `  let at = ${f.records}u + 2u * scaler[${f.steps}];
  let overflow = scaler[${f.overflow}] != 0u;
  scaler[at] = scaler[${f.scale}];
  scaler[at + 1u] = select(0u, 1u, overflow);
  if (overflow) {
    scaler[${f.scale}] = bitcast<u32>(max(1.0, bitcast<f32>(scaler[${f.scale}]) * 0.5));
    scaler[${f.good}] = 0u;
    scaler[${f.skipped}] += 1u;
  } else {
    scaler[${f.updates}] += 1u;
    scaler[${f.good}] += 1u;
    if (scaler[${f.good}] >= ${LOSS_SCALE_GROWTH_INTERVAL}u) {
      scaler[${f.scale}] = bitcast<u32>(bitcast<f32>(scaler[${f.scale}]) * 2.0);
      scaler[${f.good}] = 0u;
    }
  }
  scaler[${f.overflow}] = 0u;
  scaler[${f.steps}] += 1u;`,
  )
}
