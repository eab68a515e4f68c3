/**
 * The WebGPU backend's device process, seen from the caller: core's DeviceProcess (its timeout,
 * heartbeat and kill rules are there) started on device-process.ts with the backend's options.
 *
 * Cost (measured on a 2-core VM with lavapipe, see the package README): a restart is a new Node
 * process, its modules, Dawn, an adapter and a device, 1-2.6 s there. On the normal path each
 * operation is one IPC round trip, 0.3-1.3 ms of host time per call there (more when the machine
 * is loaded); device timestamps are taken inside the process as before.
 */
import { DeviceProcess, moduleBeside, stopDeviceProcesses as stopProcessesOf } from '@gpubench/core'
import type { Operation, Results, StartOptions } from './protocol.ts'

export { childExecArgv, lineSplitter, SILENCE_GRACE_MS } from '@gpubench/core'

/**
 * Dawn prints these two notices to stderr (from native code, with no switch to turn them off)
 * whenever it enumerates a Vulkan adapter: it caps the adapter's dynamic-buffer limits to the
 * 16 its bind groups support. They describe limits no gpubench kernel comes near (gpubench uses
 * no dynamic offsets), so the device process's stderr is filtered of exactly these lines.
 */
export const DAWN_LIMIT_NOTICE =
  /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.$/

/** The device process's entry, beside this file with the same extension (.ts in the workspace, .js when built). */
const ENTRY = moduleBeside(import.meta.url, './device-process')

export type WebgpuProcess = DeviceProcess<Operation, Results>

/** Starts a WebGPU device process with these options; `timeoutMs` bounds its silence (plus SILENCE_GRACE_MS). */
export function startDeviceProcess(options: StartOptions, timeoutMs: number): WebgpuProcess {
  return DeviceProcess.start<Operation, Results>({
    backend: 'webgpu',
    name: 'WebGPU',
    entry: ENTRY,
    args: [JSON.stringify(options)],
    timeoutMs,
    dropStderr: (line) => DAWN_LIMIT_NOTICE.test(line),
  })
}

/** Kills every WebGPU device process (see shutdownWebgpu). */
export function stopDeviceProcesses(): void {
  stopProcessesOf('webgpu')
}
