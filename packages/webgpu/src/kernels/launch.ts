/**
 * The launch-latency kernel: one invocation stores 1 into a one-element flag buffer, so the time
 * of a dispatch is almost all launch overhead. The flag makes it checkable (core's reference
 * expects 1) and keeps the compiler from removing the dispatch.
 */
import type { Workgroups } from './wgsl.ts'

export const LAUNCH_WGSL = `@group(0) @binding(0) var<storage, read_write> flag: array<f32>;

@compute @workgroup_size(1)
fn main() {
  flag[0] = 1.0;
}
`

export const LAUNCH_WORKGROUPS: Workgroups = [1, 1, 1]
