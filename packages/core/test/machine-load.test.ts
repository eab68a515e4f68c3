import { spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, test } from 'vitest'
import {
  type CpuSnapshot,
  cpuSnapshot,
  type MachineLoad,
  machineLoadBetween,
  machineLoadNote,
} from '../src/measure/machine-load.ts'

function snapshot(atMs: number, busyTicks: number, stealTicks: number, tree: [number, number][]): CpuSnapshot {
  return { atMs, cpus: 2, busyTicks, stealTicks, treeTicks: new Map(tree) }
}

describe('machineLoadBetween', () => {
  test("the machine's busy time less the tree's, in CPUs; a process that started in between counts from zero", () => {
    // 2 s: the machine was busy 300 ticks (3 CPU-seconds); the tree used 60 + 40 (a new child) of them.
    const load = machineLoadBetween(
      snapshot(1000, 10_000, 50, [[1, 500]]),
      snapshot(3000, 10_300, 70, [
        [1, 560],
        [2, 40],
      ]),
    )
    expect(load).toEqual({ otherCpus: 1, stealCpus: 0.1, cpus: 2, seconds: 2 })
  })

  test('a process of the tree that ended in between leaves its ticks to "other"; never below zero', () => {
    const ended = machineLoadBetween(
      snapshot(0, 0, 0, [
        [1, 0],
        [2, 0],
      ]),
      snapshot(1000, 100, 0, [[1, 50]]),
    )
    expect(ended?.otherCpus).toBeCloseTo(0.5, 12)
    // Counters read at slightly different instants can make the tree's share exceed the machine's.
    expect(machineLoadBetween(snapshot(0, 0, 0, [[1, 0]]), snapshot(1000, 90, 0, [[1, 100]]))?.otherCpus).toBe(0)
  })

  test('null without two snapshots or without time between them', () => {
    const s = snapshot(0, 0, 0, [])
    expect(machineLoadBetween(null, s)).toBeNull()
    expect(machineLoadBetween(s, null)).toBeNull()
    expect(machineLoadBetween(s, s)).toBeNull()
  })
})

test('machineLoadNote: only for a busy machine', () => {
  expect(machineLoadNote(null)).toBeNull()
  expect(machineLoadNote({ otherCpus: 0.2, stealCpus: 0.05, cpus: 2, seconds: 1 })).toBeNull()
  expect(machineLoadNote({ otherCpus: 1.94, stealCpus: 0, cpus: 2, seconds: 1 })).toBe(
    'other processes kept 1.9 of 2 CPUs busy during this measurement (the hypervisor took 0.0): a busy machine reads slow',
  )
  expect(machineLoadNote({ otherCpus: 0, stealCpus: 0.3, cpus: 4, seconds: 1 })).toMatch(/hypervisor took 0\.3/)
})

/** A loop that runs until killed, as a Node one-liner. */
const SPIN = 'for (;;) {}'

/**
 * Polls `check` over windows of `windowMs` until it holds or `limitMs` pass: other test files
 * share these CPUs, so how much a busy process gets in one window is not fixed, only that it
 * gets some sooner or later.
 */
async function eventually(check: () => Promise<boolean>, limitMs = 15_000): Promise<boolean> {
  const end = Date.now() + limitMs
  while (Date.now() < end) if (await check()) return true
  return false
}

describe.runIf(process.platform === 'linux')('cpuSnapshot on this machine', () => {
  const pids: number[] = []
  afterEach(() => {
    for (const pid of pids.splice(0)) {
      try {
        process.kill(pid, 'SIGKILL')
      } catch {}
    }
  })

  test('a busy child of this process is the tree; a busy process outside it is "other"', async () => {
    const first = cpuSnapshot()
    expect(first).not.toBeNull()
    expect(first?.cpus).toBeGreaterThanOrEqual(1)
    expect(first?.treeTicks.has(process.pid)).toBe(true)

    // A child of this process: in the tree, its ticks counted there.
    const child = spawn(process.execPath, ['-e', SPIN])
    pids.push(child.pid as number)
    const childTicks = (s: CpuSnapshot | null) => s?.treeTicks.get(child.pid as number) ?? 0
    const start = cpuSnapshot()
    expect(
      await eventually(async () => {
        await sleep(200)
        return childTicks(cpuSnapshot()) - childTicks(start) >= 30
      }),
    ).toBe(true)

    // A busy process whose parent exits at once: reparented, so outside the tree.
    const shell = spawn('sh', ['-c', `${JSON.stringify(process.execPath)} -e "${SPIN}" & echo $!`])
    let out = ''
    shell.stdout.on('data', (chunk) => {
      out += chunk
    })
    await new Promise((done) => shell.on('exit', done))
    const outsider = Number(out.trim())
    expect(Number.isInteger(outsider) && outsider > 0).toBe(true)
    pids.push(outsider)
    expect(cpuSnapshot()?.treeTicks.has(outsider)).toBe(false)
    let load: MachineLoad | null = null
    expect(
      await eventually(async () => {
        const before = cpuSnapshot()
        await sleep(500)
        load = machineLoadBetween(before, cpuSnapshot())
        return (load?.otherCpus ?? 0) > 0.4
      }),
    ).toBe(true)
    expect(machineLoadNote(load)).toMatch(/^other processes kept \d\.\d of \d+ CPUs busy/)
  }, 40_000)
})
