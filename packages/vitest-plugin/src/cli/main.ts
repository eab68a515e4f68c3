#!/usr/bin/env node
/** The `gpubench` command of @gpubench/vitest-plugin; see ./commands.ts. */
import { main } from './commands.ts'

process.exitCode = await main(process.argv.slice(2))
