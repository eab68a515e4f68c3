/**
 * `gpubench report [options] [inputs...]`: an HTML page (inline SVG charts, nothing fetched at
 * view time) and its markdown twin from JSON reports and baseline files of any number of devices.
 * Arguments are parsed here; the report itself (../report/html/) is loaded only when this command
 * runs, so other commands never load the chart libraries.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { CliError } from './vitest-process.ts'

export const REPORT_USAGE = `gpubench report [--out <file.html>] [--title <text>] [--headline <benchmark>] [--cpu-device <id>] [<input>...]

Writes an HTML report (default gpubench-report.html) and its markdown twin beside it (.md) from
JSON reports (the jsonReport option's files) and baseline files, or folders of them
(default: baselines/). Sections appear only where the inputs have data; published figures are
shown apart, labelled with their source.
  --headline <benchmark>  the f32 benchmark the blog's four charts compare (default: chosen)
  --cpu-device <id>       the device the speed-ups are taken against (default: the first cpu one)`

export interface ReportArgs {
  readonly inputs: readonly string[]
  readonly out: string
  readonly title?: string
  readonly headline?: string
  readonly cpuDevice?: string
}

const VALUE_OPTIONS = ['--out', '--title', '--headline', '--cpu-device'] as const

/** Parses report's arguments. Throws a CliError naming what is wrong. */
export function parseReportArgs(argv: readonly string[], cwd: string): ReportArgs {
  const values: Partial<Record<(typeof VALUE_OPTIONS)[number], string>> = {}
  const inputs: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    const name = VALUE_OPTIONS.find((o) => arg === o || arg.startsWith(`${o}=`))
    if (name !== undefined) {
      const value = arg === name ? argv[++i] : arg.slice(name.length + 1)
      if (value === undefined || value.trim() === '') throw new CliError(`${name} needs a value`)
      if (values[name] !== undefined) throw new CliError(`${name} is given twice`)
      values[name] = value
    } else if (arg.startsWith('-')) {
      throw new CliError(`unknown option ${JSON.stringify(arg)} for 'gpubench report'`)
    } else {
      inputs.push(arg)
    }
  }
  if (inputs.length === 0) {
    if (!existsSync(resolve(cwd, 'baselines'))) {
      throw new CliError('no input given and no baselines/ folder here: name JSON reports, baseline files or folders')
    }
    inputs.push('baselines')
  }
  return {
    inputs: inputs.map((p) => resolve(cwd, p)),
    out: resolve(cwd, values['--out'] ?? 'gpubench-report.html'),
    ...(values['--title'] === undefined ? {} : { title: values['--title'] }),
    ...(values['--headline'] === undefined ? {} : { headline: values['--headline'] }),
    ...(values['--cpu-device'] === undefined ? {} : { cpuDevice: values['--cpu-device'] }),
  }
}

export async function report(argv: readonly string[], cwd: string = process.cwd()): Promise<number> {
  const args = parseReportArgs(argv, cwd)
  const html = await import('../report/html/index.ts')
  try {
    const written = await html.writeReport(args.inputs, args.out, args)
    const sections = written.report.model.sections.map((s) => s.title).join(', ')
    console.log(`gpubench report: wrote ${written.html} and ${written.markdown} (${sections})`)
    return 0
  } catch (error) {
    if (html.isInputError(error)) throw new CliError((error as Error).message)
    throw error
  }
}
