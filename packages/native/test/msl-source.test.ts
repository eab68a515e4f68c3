/**
 * The Metal kernels' MSL source (src/metal/shaders.h, src/metal/train_shaders.h), checked where no
 * Metal compiler exists: the source as the addon hands it to Metal is printed by a small C++
 * program, then parsed by the C++ compiler against test/msl-shim (MSL's types and functions as
 * C++ names). A misspelt name, a wrong argument or a type error fails here, before the macOS
 * workflow compiles the source for real. Skipped, with the reason, without a C++ compiler.
 */
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { afterAll, describe, expect, test } from 'vitest'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const cxx = process.env.CXX || 'c++'
const compiler = (() => {
  try {
    execFileSync(cxx, ['--version'], { stdio: 'ignore' })
    return null
  } catch (error) {
    return `no C++ compiler (${cxx}): ${(error as Error).message}`
  }
})()
const work = mkdtempSync(join(tmpdir(), 'gpubench-msl-'))
afterAll(() => rmSync(work, { recursive: true, force: true }))

/** The MSL source of `header`'s `symbol`, as the addon passes it to newLibraryWithSource. */
function mslOf(header: string, symbol: string): string {
  const program = join(work, `${symbol}.cpp`)
  writeFileSync(
    program,
    `#include "${header}"\n#include <cstdio>\nint main() { std::fputs(gpubench::metal::${symbol}, stdout); }\n`,
  )
  const binary = join(work, symbol)
  execFileSync(cxx, ['-std=c++17', `-I${join(root, 'src')}`, program, '-o', binary])
  return execFileSync(binary, { encoding: 'utf8' })
}

/** Parses MSL source as C++ against the shim; the compiler's errors, or '' when it parses. */
function parse(source: string, name: string): string {
  const file = join(work, `${name}.metal`)
  writeFileSync(file, source)
  const args = [
    '-std=c++17',
    '-fsyntax-only',
    '-Wno-attributes',
    `-I${join(root, 'test', 'msl-shim')}`,
    '-x',
    'c++',
    file,
  ]
  try {
    execFileSync(cxx, args, { stdio: ['ignore', 'ignore', 'pipe'] })
    return ''
  } catch (error) {
    return String((error as { stderr?: Buffer }).stderr ?? error)
  }
}

describe.skipIf(compiler !== null)(`MSL source (${compiler ?? 'parsed as C++ against a shim'})`, () => {
  test.each([
    ['metal/shaders.h', 'kShaderSource'],
    ['metal/train_shaders.h', 'kTrainShaderSource'],
  ])('%s: every kernel parses', (header, symbol) => {
    const source = mslOf(header, symbol)
    expect(source).toMatch(/^\s*#include <metal_stdlib>/)
    expect(source).toMatch(/\bkernel void \w+\(/)
    expect(parse(source, symbol)).toBe('')
  })

  test('the check fails on a misspelt function and on an undeclared variable', () => {
    const source = mslOf('metal/train_shaders.h', 'kTrainShaderSource')
    expect(parse(source.replace('simd_sum(', 'simd_summ('), 'misspelt')).toMatch(/simd_summ/)
    expect(parse(source.replace('a.value;', 'a.valeu;'), 'member')).toMatch(/valeu/)
    expect(readFileSync(join(root, 'test', 'msl-shim', 'metal_stdlib'), 'utf8')).toMatch(/simd_sum/)
  })
})
