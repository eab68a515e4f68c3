/**
 * The store under several processes: concurrent writers lose no entry, and a writer killed at a
 * random moment leaves a file that parses and validates, holding one whole generation of entries.
 * The writers are child processes running fixtures/baseline-writer.ts on Node 24 (types stripped).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { rng } from '../src/measure/random.ts'
import { loadBaseline, updateBaseline } from '../src/store/index.ts'
import { sampleDevice, sampleEntry } from './fixtures/baseline-samples.ts'

const WRITER = fileURLToPath(new URL('./fixtures/baseline-writer.ts', import.meta.url))
const ID = sampleDevice().id

let dir: string
beforeEach(async () => {
  dir = await mkdtemp(path.join(os.tmpdir(), 'gpubench-concurrency-'))
})
afterEach(async () => {
  await rm(dir, { recursive: true, force: true })
})

/** Node strips types by default from 23.6 on (this workspace runs Node 24); Vitest's minimum, 22.12, needs the flag. */
const NODE_FLAGS = Number(process.versions.node.split('.')[0]) < 23 ? ['--experimental-strip-types'] : []

/** Starts the writer with the Node running these tests. */
function startWriter(args: string[]): { child: ChildProcess; stderr: () => string } {
  const child = spawn(process.execPath, [...NODE_FLAGS, WRITER, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString()
  })
  return { child, stderr: () => stderr }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) {
      resolve({ code: child.exitCode, signal: child.signalCode })
      return
    }
    child.once('exit', (code, signal) => resolve({ code, signal }))
  })
}

function ready(child: ChildProcess): Promise<void> {
  return new Promise((resolve, reject) => {
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('ready\n')) resolve()
    })
    child.once('exit', (code) => reject(new Error(`writer exited (${code}) before it was ready`)))
  })
}

// core's seeded generator (mulberry32), so a failing case can be replayed.
const prng = rng

describe('updateBaseline across processes', () => {
  it('loses no entry when 5 processes add distinct entries to the same file at once', async () => {
    const writers = 5
    const perWriter = 8
    const started = Array.from({ length: writers }, (_, w) =>
      startWriter(['add', dir, `writer${w}`, String(perWriter)]),
    )
    const results = await Promise.all(started.map(({ child }) => exited(child)))
    results.forEach((result, w) => {
      expect(result, started[w]!.stderr()).toEqual({ code: 0, signal: null })
    })
    const baseline = await loadBaseline(dir, ID)
    const expected = started.flatMap((_, w) => Array.from({ length: perWriter }, (_, i) => `writer${w}-${i}`)).sort()
    expect(Object.keys(baseline!.entries)).toEqual(expected)
    for (const key of expected) {
      const [, w, i] = /^writer(\d+)-(\d+)$/.exec(key)!
      expect(baseline!.entries[key]!.target).toBe(`writer${w} ${i}`)
    }
    // Every lock and temporary file is gone.
    expect(await readdir(dir)).toEqual([`${ID}.json`])
  }, 60_000)

  it('leaves the old file or the new one, never a mix, when a writer is killed at random moments (SIGKILL, 25 times)', async () => {
    const random = prng(42)
    const entriesPerWrite = 150
    const iterations = 25
    const evidence = { locks: 0, cutWrites: 0, generations: new Set<number>() }
    for (let iteration = 0; iteration < iterations; iteration++) {
      const writer = startWriter(['loop', dir, 'k', String(entriesPerWrite)])
      await ready(writer.child)
      // Up to 300 ms: several writes of 150 entries, even on a loaded machine, so kills land at different points.
      await new Promise((resolve) => setTimeout(resolve, random() * 300))
      writer.child.kill('SIGKILL')
      const result = await exited(writer.child)
      expect(result.signal, writer.stderr()).toBe('SIGKILL')

      // What a kill left behind: a lock (killed while holding it), a temporary file (a write cut short).
      const names = await readdir(dir)
      if (names.includes(`${ID}.json.lock`)) evidence.locks++
      if (names.some((name) => name.startsWith(`.${ID}.json.`) && !name.includes('.lock.'))) evidence.cutWrites++

      const baseline = await loadBaseline(dir, ID) // throws if the file is malformed or invalid
      const keys = Object.keys(baseline!.entries)
      expect(keys.length).toBe(entriesPerWrite)
      // All entries come from the same write: entry k has medianNs = 1000 * (generation + 1) + k.
      const generation = baseline!.entries['k-0']!.stats.medianNs / 1000 - 1
      expect(Number.isInteger(generation)).toBe(true)
      for (let k = 0; k < entriesPerWrite; k++) {
        expect(baseline!.entries[`k-${k}`]!.stats.medianNs).toBe(1000 * (generation + 1) + k)
      }
      evidence.generations.add(generation)
    }
    // The next writer breaks a dead writer's lock and clears its leftovers.
    await updateBaseline(dir, sampleDevice(), { final: sampleEntry() }, { lockTimeoutMs: 5000 })
    expect(await readdir(dir)).toEqual([`${ID}.json`])
    expect(Object.keys((await loadBaseline(dir, ID))!.entries)).toContain('final')
    // The kills did land at different points of the writers' loops.
    expect(evidence.generations.size).toBeGreaterThan(1)
    console.info(
      `kill test: ${iterations} kills; ${evidence.locks} left the lock held, ${evidence.cutWrites} cut a write short (temporary file left); generations on disk after a kill: ${[...evidence.generations].sort((a, b) => a - b).join(', ')}`,
    )
  }, 120_000)
})
