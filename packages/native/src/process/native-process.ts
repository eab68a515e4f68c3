/**
 * A native backend's device process (see contained.ts): builds the backend named by its one
 * argument in this process (isolation 'none') and serves its probe, prepare and runnables to the
 * caller. A call that never returns holds this process's thread; the caller's limit ends it with
 * SIGKILL. The process ends itself when the caller goes away.
 */
import {
  type Backend,
  BackendError,
  type Runnable,
  RunnableTable,
  serveDeviceProcess,
  TrainingRunnable,
} from '@gpubench/core'
import { createCpuBackend } from '../cpu-backend.ts'
import { createCudaBackend } from '../cuda-backend.ts'
import { createMetalBackend } from '../metal-backend.ts'
import type { NativeOperation, NativeStart } from './contained.ts'

const start = JSON.parse(process.argv[2] ?? '{}') as NativeStart
const local = { ...start.options, isolation: 'none' as const }
const backend: Backend =
  start.backend === 'cpu'
    ? createCpuBackend(local)
    : start.backend === 'cuda'
      ? createCudaBackend(local)
      : createMetalBackend(local)

const runnables = new RunnableTable<Runnable>(start.backend)
const runnableOf = (handle: number): Runnable => runnables.get(handle)

function trainingOf(handle: number): TrainingRunnable {
  const runnable = runnableOf(handle)
  if (!(runnable instanceof TrainingRunnable)) {
    throw new BackendError(`device process: runnable ${handle} is not a training step`, start.backend)
  }
  return runnable
}

async function perform(request: NativeOperation): Promise<unknown> {
  switch (request.op) {
    case 'probe':
      return backend.probe()
    case 'prepare': {
      const runnable = await backend.prepare(request.target)
      return { handle: runnables.add(runnable), timing: runnable.timing, notes: runnable.notes }
    }
    case 'cold':
      return runnableOf(request.handle).cold()
    case 'run':
      return { deviceNs: await runnableOf(request.handle).run(request.n) }
    case 'verify':
      return runnableOf(request.handle).verify()
    case 'records':
      return trainingOf(request.handle).records.slice(request.from)
    case 'steps':
      return trainingOf(request.handle).steps(request.n)
    case 'dispose':
      return runnables.dispose(request.handle)
  }
}

serveDeviceProcess<NativeOperation>(
  {
    perform,
    notesOf: (request) => runnables.notesOf(request),
    // Native calls block this thread: a call that never returns is ended by the caller's limit.
    hung: () => false,
  },
  `the ${start.backend} device process`,
)
