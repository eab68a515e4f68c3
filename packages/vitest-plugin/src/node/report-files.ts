/**
 * The report files a run writes besides its baselines: the JSON report (`jsonReport`) and the
 * markdown summary appended to `$GITHUB_STEP_SUMMARY`. Their paths are the user's, so a mistake
 * in one (a directory, a missing folder, no permission) is checked before the run, when the
 * reporter starts, and reported as one line naming the option or variable and the path; writing
 * at the end never throws a Node error with its stack either, it returns the same kind of line.
 */
import { constants, type Stats } from 'node:fs'
import { access, appendFile, mkdir, stat, writeFile } from 'node:fs/promises'
import { dirname, resolve } from 'node:path'

export interface ReportFile {
  /** What the user set: `jsonReport` (option) or `$GITHUB_STEP_SUMMARY`. */
  readonly source: string
  readonly file: string
  /** 'write': replaced, its folders created as needed; 'append': added to, its folder must exist. */
  readonly how: 'write' | 'append'
}

/** The report files this run will write, from the options and the environment. */
export function reportFiles(
  options: { readonly jsonReport: string | null; readonly stepSummary: boolean },
  root: string,
  env: NodeJS.ProcessEnv,
): ReportFile[] {
  const files: ReportFile[] = []
  if (options.jsonReport) files.push({ source: 'jsonReport', file: resolve(root, options.jsonReport), how: 'write' })
  const summary = env.GITHUB_STEP_SUMMARY
  if (options.stepSummary && summary) {
    files.push({ source: '$GITHUB_STEP_SUMMARY', file: resolve(root, summary), how: 'append' })
  }
  return files
}

async function statOrNull(path: string): Promise<Stats | null> {
  try {
    return await stat(path)
  } catch {
    return null
  }
}

async function writable(path: string): Promise<boolean> {
  return access(path, constants.W_OK).then(
    () => true,
    () => false,
  )
}

/**
 * Why `report` cannot be written, or null when it can as far as can be told now: an existing
 * path must be a writable regular file; a new one needs a writable folder (for 'write', the
 * nearest existing ancestor, since missing folders are created; for 'append', its own folder).
 */
export async function reportFileProblem(report: ReportFile): Promise<string | null> {
  const { source, file, how } = report
  const prefix = `gpubench: ${source} ${JSON.stringify(file)}`
  const info = await statOrNull(file)
  if (info !== null) {
    if (info.isDirectory()) return `${prefix} is a directory; give the path of a file`
    if (!info.isFile()) return `${prefix} is not a regular file`
    if (!(await writable(file))) return `${prefix} is not writable`
    return null
  }
  let folder = dirname(file)
  let folderInfo = await statOrNull(folder)
  if (how === 'append' && folderInfo === null) return `${prefix}: its folder ${JSON.stringify(folder)} does not exist`
  while (folderInfo === null && dirname(folder) !== folder) {
    folder = dirname(folder)
    folderInfo = await statOrNull(folder)
  }
  if (folderInfo === null || !folderInfo.isDirectory()) {
    return `${prefix}: ${JSON.stringify(folder)} is not a folder, so the file cannot be created`
  }
  if (!(await writable(folder))) return `${prefix}: the folder ${JSON.stringify(folder)} is not writable`
  return null
}

/** Problems of every report file of the run, one line each (empty when none). */
export async function reportFileProblems(files: readonly ReportFile[]): Promise<string[]> {
  const problems = await Promise.all(files.map(reportFileProblem))
  return problems.filter((p): p is string => p !== null)
}

/** Writes (or appends) `text`; null when done, else one line naming the source, the path and the system's reason. */
export async function writeReportFile(report: ReportFile, text: string): Promise<string | null> {
  try {
    if (report.how === 'append') {
      await appendFile(report.file, text)
    } else {
      await mkdir(dirname(report.file), { recursive: true })
      await writeFile(report.file, text)
    }
    return null
  } catch (error) {
    return `gpubench: could not ${report.how} ${report.source} ${JSON.stringify(report.file)}: ${(error as Error).message}`
  }
}
