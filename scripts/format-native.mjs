#!/usr/bin/env node
// The native sources (C++, CUDA, Objective-C++ under packages/native/src) against .clang-format,
// with the clang-format of the devDependency: `--check` (pnpm lint) fails naming each file that
// differs; without it the files are rewritten in place (pnpm format:native).
import { execFileSync } from 'node:child_process'
import { readdirSync } from 'node:fs'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const src = join(root, 'packages', 'native', 'src')
const check = process.argv.includes('--check')

function sources(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? sources(join(dir, e.name)) : /\.(cpp|h|cu|mm)$/.test(e.name) ? [join(dir, e.name)] : [],
  )
}

const files = sources(src).sort()
const binary = join(root, 'node_modules', '.bin', 'clang-format')
try {
  execFileSync(
    binary,
    [check ? '--dry-run' : '-i', '--Werror', `--style=file:${join(root, '.clang-format')}`, ...files],
    {
      stdio: ['ignore', 'inherit', 'pipe'],
    },
  )
} catch (error) {
  const out = String(error.stderr ?? error.message)
  const differing = [
    ...new Set([...out.matchAll(/^(\S+?):\d+:\d+: (?:error|warning)/gm)].map((m) => relative(root, m[1]))),
  ]
  console.error(
    differing.length > 0
      ? `clang-format: ${differing.length} native source(s) differ from .clang-format (run pnpm format:native):\n  ${differing.join('\n  ')}`
      : `clang-format failed: ${out.split('\n').slice(0, 5).join('\n')}`,
  )
  process.exit(1)
}
console.log(`clang-format: ${files.length} native sources ${check ? 'match' : 'formatted to'} .clang-format`)
