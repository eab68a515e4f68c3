/**
 * What the main process needs from core's runtime, gathered in one module that node/plugin.ts
 * loads through Vite's module runner (which transforms TypeScript fully, where Node's loader only
 * strips types). Keeps node/plugin.ts, which Node loads with the config, free of core's runtime.
 */
import { parseDuration, parseRate, stoppingRule } from '@gpubench/core'
import { checkStoppingRuleValues, type ResolvedOptions } from '../options.ts'

import type { LiteralParsers } from './literal-check.ts'

export { GpubenchReporter } from './reporter.ts'

/** Core's parsers, for the check of assertion literals when a file is transformed. */
export const literalParsers: LiteralParsers = { rate: parseRate, duration: parseDuration }

/** The checks of the options that need core: the stopping rule's values. */
export function checkOptionsWithCore(options: ResolvedOptions): void {
  checkStoppingRuleValues(options.stoppingRule, stoppingRule)
}
