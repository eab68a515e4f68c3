export { bootstrapMedianInterval, DEFAULT_RESAMPLES, DEFAULT_SEED } from './bootstrap.ts'
export { studentTQuantile } from './distributions.ts'
export {
  hostClockNs,
  type MeasureHooks,
  type Measurement,
  type MeasureRoundsHooks,
  measure,
  measureRounds,
  relativeNoiseOf,
} from './engine.ts'
export { MeasurementError, SampleError, StoppingRuleError, VerdictError } from './errors.ts'
export { hierarchicalMedianInterval } from './hierarchical-bootstrap.ts'
export {
  BUSY_MACHINE_CPUS,
  type CpuSnapshot,
  cpuSnapshot,
  type MachineLoad,
  machineLoadBetween,
  machineLoadNote,
  STOLEN_CPUS,
} from './machine-load.ts'
export { rng } from './random.ts'
export {
  holmRejections,
  type JudgedComparison,
  judgeRun,
  MIN_SHIFT_COMPARISONS,
  type RunComparison,
  type RunJudgement,
  runShiftLog,
  singleRegressionLevel,
} from './run-level.ts'
export { type SortedSamples, sortSamples } from './sample.ts'
export {
  DEFAULT_CI_LEVEL,
  medianOf,
  quantile,
  type SampleStats,
  type SummarizeOptions,
  summarize,
  summarizeRounds,
  summarizeSorted,
} from './statistics.ts'
export {
  DEFAULT_STOPPING_RULE,
  isFixedCount,
  PAPER_METHOD,
  STOPPING_RULE_LIMITS,
  type StoppingRule,
  stoppingRule,
} from './stopping-rule.ts'
export {
  compareToBaseline,
  DEFAULT_RUN_ERROR_RATE,
  DEFAULT_RUN_NOISE_PRIOR,
  DEFAULT_TOLERANCE,
  DEFAULT_VERDICT_CI_LEVEL,
  DETECTION_POWER,
  DEVICE_PRIOR_MAX_DF,
  detectableRatio,
  deviceRunNoisePrior,
  MIN_VERDICT_SAMPLES,
  type RunNoisePrior,
  type RunStats,
  regressionPValue,
  SITTING_GAP_MS,
  sittingsOf,
  UNSEEN_SHIFT_SD,
  type Verdict,
  type VerdictKind,
  type VerdictOptions,
} from './verdict.ts'
