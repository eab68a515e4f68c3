/**
 * The comparison of one measurement with its baseline: the one place a benchmark's verdict is
 * computed (verdict.ts), from the measurement, the baseline and a tolerance. The benchmark's own
 * tolerance gives the verdict measured (and confirmed by measuring again, run-benchmark.ts); an
 * assertion may ask for the comparison at another tolerance (`toMatchBaseline({ tolerance })`),
 * and the verdict the record reports is then the one at the tolerance asked for last, computed
 * here from the same measurement.
 */
import type { SampleStats } from '@gpubench/core'
import type { BaselineLookup, RecordedVerdict } from '../record.ts'
import { verdictFor } from './verdict.ts'

export class Judgement {
  readonly #stats: SampleStats
  readonly #baseline: BaselineLookup
  readonly #byTolerance = new Map<number, RecordedVerdict | null>()
  #asked: number

  /** `measured`: the verdict at the benchmark's `tolerance`, as confirmed; computed here when not given. */
  constructor(stats: SampleStats, baseline: BaselineLookup, tolerance: number, measured?: RecordedVerdict | null) {
    this.#stats = stats
    this.#baseline = baseline
    this.#asked = tolerance
    this.#byTolerance.set(tolerance, measured === undefined ? verdictFor(stats, baseline, tolerance) : measured)
  }

  /** The tolerance of the verdict reported: the benchmark's, or the one an assertion asked for last. */
  get tolerance(): number {
    return this.#asked
  }

  /** The comparison at `tolerance`, which from now on is the one reported; null without a baseline. */
  judgeAt(tolerance: number): RecordedVerdict | null {
    this.#asked = tolerance
    return this.verdict
  }

  /** The verdict reported. */
  get verdict(): RecordedVerdict | null {
    let v = this.#byTolerance.get(this.#asked)
    if (v === undefined) {
      v = verdictFor(this.#stats, this.#baseline, this.#asked)
      this.#byTolerance.set(this.#asked, v)
    }
    return v
  }
}
