/**
 * The commands of `gpubench` (the bin is ./main.ts). Each runs the project's own Vitest in child
 * processes, in the current folder. A user's mistake prints one line and exits 2, no stack.
 */
import { CALIBRATE_USAGE, calibrateCommand } from './calibrate.ts'
import { COMPARE_USAGE, compare } from './compare.ts'
import { RECORD_USAGE, record } from './record.ts'
import { REPORT_USAGE, report } from './report.ts'
import { CliError } from './vitest-process.ts'

interface Command {
  readonly summary: string
  readonly usage: string
  readonly run: (argv: readonly string[]) => number | Promise<number>
}

const COMMANDS: Readonly<Record<string, Command>> = Object.assign(Object.create(null) as Record<string, Command>, {
  record: { summary: "record this device's baselines from several runs", usage: RECORD_USAGE, run: record },
  report: { summary: 'write an HTML and a markdown report of runs', usage: REPORT_USAGE, run: report },
  calibrate: {
    summary: 'record runs, then an A/A self-test: false failures and the detectable slowdown',
    usage: CALIBRATE_USAGE,
    run: calibrateCommand,
  },
  compare: {
    summary: 'measure the base commit and the working tree side by side: regressions of this change',
    usage: COMPARE_USAGE,
    run: compare,
  },
})

function help(): string {
  const lines = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`)
  return `usage: gpubench <command> [options]\n\ncommands:\n${lines.join('\n')}\n\n'gpubench <command> --help' for a command's options.`
}

export async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    console.log(help())
    return name === undefined ? 2 : 0
  }
  const command = COMMANDS[name]
  if (!command) {
    console.error(`gpubench: unknown command ${JSON.stringify(name)}\n\n${help()}`)
    return 2
  }
  if (rest[0] === '--help' || rest[0] === '-h') {
    console.log(command.usage)
    return 0
  }
  try {
    return await command.run(rest)
  } catch (error) {
    if (error instanceof CliError) {
      console.error(`gpubench ${name}: ${error.message}`)
      return 2
    }
    throw error
  }
}
