/**
 * The device process: the WebGPU backend's device work, run in a child process of the caller
 * (see client.ts), so that a kernel which never ends can be stopped by killing this process.
 *
 * Why a process and not a worker thread: when a wait on the device times out, Dawn cannot cancel
 * the submitted work, and `device.destroy()` blocks in native code until the queue is idle;
 * `worker.terminate()` does not return while its thread is blocked there (checked with dawn.node
 * 0.6.2 on lavapipe: still pending 5 s after the call, with the kernel spinning). Only the
 * operating system can end such work: SIGKILL frees the process's devices, threads and memory.
 *
 * Here a timed-out wait leaves the device alone (session.ts's TimeoutHandler) and its answer is
 * marked `hung`, so the caller kills this process and starts a fresh one for the next benchmark.
 * The process ends itself when the caller disconnects (the caller exited or was killed).
 */
import { BackendError, type Target } from '@gpubench/core'
import { createInProcessBackend } from '../in-process-backend.ts'
import { setTimeoutHandler } from '../session.ts'
import type { WebgpuRunnable } from '../webgpu-runnable.ts'
import { HEARTBEAT_MS, type Operation, type ProcessMessage, type Request, type StartOptions } from './protocol.ts'

function send(message: ProcessMessage): void {
  process.send?.(message)
}

function die(): never {
  // Not process.exit(): exit handlers of the driver may wait for a busy queue.
  process.kill(process.pid, 'SIGKILL')
  throw new Error('unreachable')
}

if (!process.send) {
  console.error('device-process: must be started by the WebGPU backend with an IPC channel')
  process.exit(2)
}
process.on('disconnect', die)

const options = JSON.parse(process.argv[2] ?? '{}') as StartOptions
const backend = createInProcessBackend({ ...options, isolation: 'none' })
let hung = false
setTimeoutHandler(() => {
  hung = true
})

const runnables = new Map<number, WebgpuRunnable>()
let nextHandle = 1

function runnableOf(handle: number): WebgpuRunnable {
  const runnable = runnables.get(handle)
  if (!runnable) throw new BackendError(`device process: no runnable ${handle}`, 'webgpu')
  return runnable
}

const refuseVerify = async (): Promise<never> => {
  throw new BackendError('a user kernel is verified by the calling process, which holds its check()', 'webgpu')
}

async function perform(request: Operation): Promise<unknown> {
  switch (request.op) {
    case 'probe':
      return backend.probe()
    case 'prepare': {
      const { job } = request
      let runnable: WebgpuRunnable
      if (job.kind === 'workload') {
        runnable = await backend.prepare(job.workload)
      } else if (job.kind === 'train') {
        runnable = await backend.prepare(job.target)
      } else {
        // The target stands in for the caller's webgpuKernel(): the plan already holds everything.
        const target: Target = {
          kind: 'custom',
          backend: 'webgpu',
          name: job.name,
          spec: { name: job.name, wgsl: job.plan.programs[0]?.wgsl ?? '', f16: job.plan.f16 },
        }
        runnable = await backend.preparePlan(job.plan, target, refuseVerify)
      }
      const handle = nextHandle++
      runnables.set(handle, runnable)
      return { handle, timing: runnable.timing, notes: runnable.notes }
    }
    case 'cold':
      return runnableOf(request.handle).cold()
    case 'run': {
      const runnable = runnableOf(request.handle)
      const deviceNs = await runnable.run(request.n)
      return { deviceNs, hostNs: runnable.hostDurationsNs }
    }
    case 'run-once':
      return runnableOf(request.handle).runOnce()
    case 'verify':
      return runnableOf(request.handle).verify()
    case 'upload':
      return runnableOf(request.handle).upload(request.name, request.data)
    case 'readback':
      return runnableOf(request.handle).readback(request.name)
    case 'dispose': {
      const runnable = runnables.get(request.handle)
      runnables.delete(request.handle)
      return runnable?.dispose()
    }
  }
}

function notesOf(request: Operation): readonly string[] | undefined {
  return 'handle' in request ? runnables.get(request.handle)?.notes : undefined
}

process.on('message', (message: Request) => {
  perform(message).then(
    (value) => {
      const notes = notesOf(message)
      send({ id: message.id, ok: true, value, ...(notes && { notes }) })
    },
    (error: unknown) => {
      const notes = notesOf(message)
      const failure =
        error instanceof Error
          ? {
              message: error.message,
              name: error.name,
              ...(error instanceof BackendError && error.deviceId !== undefined && { deviceId: error.deviceId }),
            }
          : { message: String(error), name: 'Error' }
      send({ id: message.id, ok: false, error: failure, hung, ...(notes && { notes }) })
    },
  )
})

setInterval(() => send({ heartbeat: true }), HEARTBEAT_MS)
send({ ready: true })
