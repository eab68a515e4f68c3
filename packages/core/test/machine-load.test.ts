import { type ChildProcess, spawn } from 'node:child_process'
import { setTimeout as sleep } from 'node:timers/promises'
import { afterEach, describe, expect, test } from 'vitest'
import { type CpuSnapshot, cpuSnapshot, machineLoadBetween, machineLoadNote } from '../src/measure/machine-load.ts'

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

describe.runIf(process.platform === 'linux')('cpuSnapshot on this machine', () => {
  const started: ChildProcess[] = []
  afterEach(() => {
    for (const child of started.splice(0)) child.kill('SIGKILL')
  })

  test('counts a busy process outside this process tree as other, and a busy child as the tree', async () => {
    const first = cpuSnapshot()
    expect(first).not.toBeNull()
    expect(first?.cpus).toBeGreaterThanOrEqual(1)
    expect(first?.treeTicks.has(process.pid)).toBe(true)

    // A child of this process, busy for a second: part of the tree.
    const child = spawn(process.execPath, ['-e', 'const end = Date.now() + 1500; while (Date.now() < end) {}'])
    started.push(child)
    const before = cpuSnapshot()
    await sleep(1000)
    const after = cpuSnapshot()
    expect(after?.treeTicks.has(child.pid as number)).toBe(true)
    // Busy for most of the second (other test files share these CPUs).
    expect(
      (after?.treeTicks.get(child.pid as number) ?? 0) - (before?.treeTicks.get(child.pid as number) ?? 0),
    ).toBeGreaterThan(30)

    // A busy process whose parent exits at once: reparented, no longer of this tree.
    const detached = spawn('sh', [
      '-c',
      `${JSON.stringify(process.execPath)} -e "const end = Date.now() + 1500; while (Date.now() < end) {}" & exit 0`,
    ])
    started.push(detached)
    await new Promise((done) => detached.on('exit', done))
    const outside0 = cpuSnapshot()
    await sleep(1000)
    const outside = machineLoadBetween(outside0, cpuSnapshot())
    expect(outside).not.toBeNull()
    expect(outside?.otherCpus).toBeGreaterThan(0.4)
    expect(machineLoadNote(outside)).toMatch(/^other processes kept \d\.\d of \d+ CPUs busy/)
  }, 20_000)
})
