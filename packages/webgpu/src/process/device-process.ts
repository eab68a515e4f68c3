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
 * The process ends itself when the caller disconnects (core's serveDeviceProcess).
 */
import { BackendError, RunnableTable, serveDeviceProcess, type Target } from '@gpubench/core'
import { createInProcessBackend } from '../in-process-backend.ts'
import { setTimeoutHandler } from '../session.ts'
import type { WebgpuRunnable } from '../webgpu-runnable.ts'
import type { Operation, StartOptions } from './protocol.ts'

const options = JSON.parse(process.argv[2] ?? '{}') as StartOptions
const backend = createInProcessBackend({ ...options, isolation: 'none' })
let hung = false
setTimeoutHandler(() => {
  hung = true
})

const runnables = new RunnableTable<WebgpuRunnable>('webgpu')
const runnableOf = (handle: number): WebgpuRunnable => runnables.get(handle)

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
      return { handle: runnables.add(runnable), timing: runnable.timing, notes: runnable.notes }
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
    case 'dispose':
      return runnables.dispose(request.handle)
  }
}

serveDeviceProcess<Operation>(
  {
    perform,
    notesOf: (request) => runnables.notesOf(request),
    hung: () => hung,
  },
  'the WebGPU device process',
)
