/**
 * Whether these tests can reach a WebGPU adapter. Where none exists at all, the device tests are
 * skipped and the reason is printed, never silently; anywhere an adapter exists (lavapipe
 * included), they run for real. Install lavapipe with scripts/setup-lavapipe.sh.
 */
import { webgpuBackend } from '../src/index.ts'

process.env.XDG_RUNTIME_DIR ??= '/tmp' // quiets Mesa's warning on machines without a session

export const probe = await webgpuBackend.probe()

export const unavailable = !probe.available
if (!probe.available) {
  console.warn(`[webgpu tests] skipped: ${probe.reason} (on Debian 12, run scripts/setup-lavapipe.sh as root)`)
}
