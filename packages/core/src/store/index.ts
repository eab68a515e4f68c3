/**
 * The baseline store: one JSON file per device, validated by schema/baseline.schema.json.
 * The schema's SampleStats type is not re-exported here: measure/ owns that name, and the
 * generated one has the same shape.
 */

export type { BaselineDevice, BaselineEntry, BaselineFile, RunSummary } from './baseline.generated.ts'
export {
  baselineEntryOf,
  baselinePath,
  type EntryFacts,
  entryKeyAt,
  loadBaseline,
  MAX_RECORDED_RUNS,
  runSummaryOf,
  runsOf,
  type UpdateOptions,
  updateBaseline,
} from './baseline-store.ts'
export { BaselineError } from './errors.ts'
export { BASELINE_SCHEMA_PATH, BASELINE_SCHEMA_VERSION, SUPPORTED_SCHEMA_VERSIONS } from './schema.ts'
