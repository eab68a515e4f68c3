/**
 * The base side of `gpubench compare`: which commit it is, and a checkout of it that can run the
 * benchmarks. The checkout is a git worktree (detached) in a cache folder outside the project,
 * `$XDG_CACHE_HOME/gpubench/compare/<project>-<hash of its path>/<sha>` (default `~/.cache`;
 * GPUBENCH_COMPARE_CACHE or --cache-dir name another), installed with the project's own package
 * manager and lockfile, then built when a build command is given; a marker file records that it
 * is ready, so the next comparison against the same commit reuses it. A checkout whose install or
 * build failed has no marker and is made afresh next time.
 *
 * Not under the project's `node_modules/.cache`: Node refuses to strip the types of `.ts` files
 * below a `node_modules` folder, so a project that runs its TypeScript sources directly (as this
 * one does) would fail there, and a module missing from the base's install would silently resolve
 * to the head's `node_modules` above it.
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { homedir } from 'node:os'
import { basename, join, relative, resolve } from 'node:path'
import { CliError } from '../cli/vitest-process.ts'

export interface BaseCommit {
  /** What was asked for or found: `--base` as given, `merge-base(HEAD, origin/main)`, ... */
  readonly ref: string
  readonly sha: string
  /** How the ref was chosen: 'option', 'GITHUB_BASE_REF' or 'default branch'. */
  readonly source: string
}

function git(cwd: string, args: readonly string[]): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim()
}

function tryGit(cwd: string, args: readonly string[]): string | null {
  try {
    return git(cwd, args)
  } catch {
    return null
  }
}

/** The top folder of the git repository that holds `cwd`; a CliError outside one. */
export function gitTopLevel(cwd: string): string {
  const top = tryGit(cwd, ['rev-parse', '--show-toplevel'])
  if (top === null) throw new CliError(`${cwd} is not inside a git repository; compare needs the base commit's history`)
  return top
}

function commitOf(cwd: string, ref: string): string | null {
  return tryGit(cwd, ['rev-parse', '--verify', '--quiet', `${ref}^{commit}`])
}

/** The first of the candidate refs that names a commit. */
function firstCommit(cwd: string, candidates: readonly string[]): string | null {
  for (const ref of candidates) if (commitOf(cwd, ref) !== null) return ref
  return null
}

/**
 * The base commit: `--base REF` as given (any commit-ish, e.g. HEAD or a tag); else, in a pull
 * request's job (GITHUB_BASE_REF), the merge-base of HEAD with that branch; else the merge-base
 * of HEAD with the default branch (origin's HEAD, else origin/main, origin/master, main, master).
 */
export function resolveBase(cwd: string, option: string | null, env: NodeJS.ProcessEnv): BaseCommit {
  if (option !== null) {
    const sha = commitOf(cwd, option)
    if (sha === null) throw new CliError(`--base ${JSON.stringify(option)} does not name a commit in this repository`)
    return { ref: option, sha, source: 'option' }
  }
  const pr = (env.GITHUB_BASE_REF ?? '').trim()
  let branch: string | null
  let source: string
  if (pr !== '') {
    branch = firstCommit(cwd, [`origin/${pr}`, pr])
    source = 'GITHUB_BASE_REF'
    if (branch === null) {
      throw new CliError(
        `GITHUB_BASE_REF=${pr}, but neither origin/${pr} nor ${pr} is in this clone; fetch it (actions/checkout with fetch-depth: 0)`,
      )
    }
  } else {
    const originHead = tryGit(cwd, ['symbolic-ref', '--quiet', '--short', 'refs/remotes/origin/HEAD'])
    branch = firstCommit(cwd, [...(originHead ? [originHead] : []), 'origin/main', 'origin/master', 'main', 'master'])
    source = 'default branch'
    if (branch === null) {
      throw new CliError('no default branch found (origin/HEAD, main or master); name the base with --base REF')
    }
  }
  const sha = tryGit(cwd, ['merge-base', 'HEAD', branch])
  if (sha === null) {
    throw new CliError(
      `HEAD and ${branch} have no common commit in this clone (a shallow clone? fetch with fetch-depth: 0), or name the base with --base REF`,
    )
  }
  return { ref: `merge-base(HEAD, ${branch})`, sha, source }
}

/** The install command for the project at `dir`, from its lockfile (and `packageManager` field when its tool is not on PATH). */
export function detectInstallCommand(dir: string, onPath: (tool: string) => boolean = toolOnPath): string {
  const pinned = packageManagerField(dir)
  const tool = (name: string) => {
    if (onPath(name)) return name
    return pinned?.startsWith(`${name}@`) ? `npx -y ${pinned}` : name
  }
  if (existsSync(join(dir, 'pnpm-lock.yaml'))) return `${tool('pnpm')} install --frozen-lockfile`
  if (existsSync(join(dir, 'yarn.lock'))) {
    return existsSync(join(dir, '.yarnrc.yml'))
      ? `${tool('yarn')} install --immutable`
      : `${tool('yarn')} install --frozen-lockfile`
  }
  if (existsSync(join(dir, 'bun.lock')) || existsSync(join(dir, 'bun.lockb'))) {
    return `${tool('bun')} install --frozen-lockfile`
  }
  if (existsSync(join(dir, 'package-lock.json'))) return 'npm ci'
  return 'npm install'
}

function packageManagerField(dir: string): string | null {
  try {
    const value = (JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { packageManager?: unknown })
      .packageManager
    return typeof value === 'string' ? value.split('+')[0]! : null
  } catch {
    return null
  }
}

function toolOnPath(tool: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' }).status === 0
}

export interface BaseCheckout {
  /** The worktree's top folder. */
  readonly dir: string
  /** Where the benchmarks run: the worktree's counterpart of the folder compare was started in. */
  readonly runDir: string
  /** True when an earlier comparison had made it ready. */
  readonly reused: boolean
  readonly log: string
}

/** The folder of the base checkouts of the repository at `top`: one per project, outside it. */
export function compareCacheDir(top: string, option: string | null, env: NodeJS.ProcessEnv): string {
  const chosen = option ?? ((env.GPUBENCH_COMPARE_CACHE ?? '').trim() || null)
  if (chosen !== null) return resolve(chosen)
  const cacheHome = (env.XDG_CACHE_HOME ?? '').trim() || join(homedir(), '.cache')
  const id = createHash('sha256').update(resolve(top)).digest('hex').slice(0, 10)
  return join(cacheHome, 'gpubench', 'compare', `${basename(top).replace(/[^\w.-]/g, '_')}-${id}`)
}

export interface PrepareOptions {
  /** The cache folder (compareCacheDir), null for the default. */
  readonly cacheDir: string | null
  readonly installCommand: string | null
  readonly buildCommand: string | null
  readonly log: (line: string) => void
}

export type Prepared =
  | { readonly ok: true; readonly checkout: BaseCheckout }
  | { readonly ok: false; readonly reason: string }

const READY_MARKER = '.gpubench-compare-ready.json'

/** Runs a shell command in `dir`, its output appended to `logFile`; null when it succeeded, else why not. */
function step(what: string, command: string, dir: string, logFile: string): string | null {
  const fd = openSync(logFile, 'a')
  try {
    writeFileSync(fd, `\n$ ${command}\n`)
    const started = performance.now()
    const result = spawnSync('sh', ['-c', command], { cwd: dir, stdio: ['ignore', fd, fd], env: process.env })
    const seconds = ((performance.now() - started) / 1000).toFixed(0)
    if (result.error) return `${what} (${command}) could not start: ${result.error.message}`
    if (result.status !== 0) {
      const tail = readFileSync(logFile, 'utf8').trimEnd().split('\n').slice(-8).join('\n    ')
      return `${what} (${command}) exited ${result.status ?? result.signal} after ${seconds} s; log ${logFile}:\n    ${tail}`
    }
    return null
  } finally {
    closeSync(fd)
  }
}

/**
 * The base's checkout, made or reused. Never throws for a failing install or build: the reason
 * comes back, for the report.
 */
export function prepareBase(cwd: string, base: BaseCommit, options: PrepareOptions): Prepared {
  const top = gitTopLevel(cwd)
  const cache = compareCacheDir(top, options.cacheDir, process.env)
  const dir = join(cache, base.sha)
  const log = join(cache, `${base.sha}.log`)
  const runDir = join(dir, relative(top, resolve(cwd)))
  const checkout = (reused: boolean): Prepared => ({ ok: true, checkout: { dir, runDir, reused, log } })
  if (existsSync(join(dir, READY_MARKER))) return checkout(true)
  mkdirSync(cache, { recursive: true })
  writeFileSync(log, `gpubench compare: base ${base.sha} (${base.ref})\n`)
  if (existsSync(dir)) {
    options.log(`base checkout ${dir} was left unfinished; making it again`)
    tryGit(top, ['worktree', 'remove', '--force', dir])
    rmSync(dir, { recursive: true, force: true })
  }
  tryGit(top, ['worktree', 'prune'])
  try {
    git(top, ['worktree', 'add', '--detach', dir, base.sha])
  } catch (error) {
    return { ok: false, reason: `git worktree add of ${base.sha} failed: ${(error as Error).message.trim()}` }
  }
  const install = options.installCommand ?? detectInstallCommand(dir)
  options.log(`installing the base in ${dir}: ${install}`)
  const installFault = step('the base install', install, dir, log)
  if (installFault) return { ok: false, reason: installFault }
  if (options.buildCommand) {
    options.log(`building the base: ${options.buildCommand}`)
    const buildFault = step('the base build', options.buildCommand, dir, log)
    if (buildFault) return { ok: false, reason: buildFault }
  }
  if (!existsSync(runDir)) return { ok: false, reason: `the base commit has no folder ${relative(top, runDir) || '.'}` }
  writeFileSync(
    join(dir, READY_MARKER),
    `${JSON.stringify({ sha: base.sha, install, build: options.buildCommand, readyAt: new Date().toISOString() })}\n`,
  )
  return checkout(false)
}
