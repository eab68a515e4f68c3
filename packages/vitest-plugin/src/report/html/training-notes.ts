/**
 * The figures of a training step that JSON reports carry in a record's notes, as core's
 * `trainFigureNotes` (core/src/train/session.ts) writes them:
 *
 *   training step (median of N): <t>; forward <t>, backward <t>, optimizer <t>
 *   throughput: <x> samples/s, <x> tokens/s, <rate> (model <rate>)
 *   process memory: RSS <bytes> after the last step, peak <bytes>; page faults per step: <x> minor, <y> major (getrusage)
 *   energy: <x> J per step   |   energy: <why it is unavailable>
 *
 * A line that is absent or does not read as above leaves its fields null: nothing is guessed.
 * Baseline files keep no notes, so records read from them have none of these figures.
 */
import { parseDuration } from '@gpubench/core'

export interface TrainingNotes {
  readonly forwardNs: number | null
  readonly backwardNs: number | null
  readonly optimizerNs: number | null
  readonly tokensPerSecond: number | null
  /** As written (`812 MB`): the memory line's own formatting. */
  readonly rss: string | null
  readonly peakRss: string | null
  readonly minorFaultsPerStep: number | null
  readonly majorFaultsPerStep: number | null
  readonly joulesPerStep: number | null
  /** Why energy is not measured, when the backend says so. */
  readonly energyUnavailable: string | null
}

function duration(text: string | undefined): number | null {
  if (text === undefined) return null
  try {
    return parseDuration(text.trim())
  } catch {
    return null
  }
}

function number(text: string | undefined): number | null {
  const value = text === undefined ? Number.NaN : Number(text)
  return Number.isFinite(value) ? value : null
}

export function trainingNotes(notes: readonly string[]): TrainingNotes {
  const line = (prefix: string) => notes.find((n) => n.startsWith(prefix))
  const phases = /; forward (.+?), backward (.+?), optimizer (.+)$/.exec(line('training step') ?? '')
  const tokens = /([\d.eE+-]+) tokens\/s/.exec(line('throughput:') ?? '')
  const memory = /RSS (.+?) after the last step, peak (.+?); page faults per step: ([\d.]+) minor, ([\d.]+) major/.exec(
    line('process memory:') ?? '',
  )
  const energyLine = line('energy:')
  const joules = /^energy: ([\d.eE+-]+) J per step$/.exec(energyLine ?? '')
  return {
    forwardNs: duration(phases?.[1]),
    backwardNs: duration(phases?.[2]),
    optimizerNs: duration(phases?.[3]),
    tokensPerSecond: number(tokens?.[1]),
    rss: memory?.[1] ?? null,
    peakRss: memory?.[2] ?? null,
    minorFaultsPerStep: number(memory?.[3]),
    majorFaultsPerStep: number(memory?.[4]),
    joulesPerStep: number(joules?.[1]),
    energyUnavailable: energyLine !== undefined && joules === null ? energyLine.slice('energy:'.length).trim() : null,
  }
}
