#!/usr/bin/env node
// Builds the publishable form of every package: JavaScript and .d.ts in dist/ (tsc with each
// package's tsconfig.build.json; relative `.ts` imports are rewritten to `.js`), and this
// platform's prebuilt addon in packages/native/npm/<platform>/ (linked from the objects the source
// build cached). With --pack DIR, also packs each package with pnpm into DIR (pnpm applies
// publishConfig and turns workspace:* into versions) and prints the tarballs and their sizes.
// Plain JavaScript, so any Node runs it.
//
//   node scripts/build-packages.mjs [--pack DIR]
import { execFileSync } from 'node:child_process'
import { mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const require = createRequire(join(root, 'package.json'))
const PACKAGES = ['core', 'native', 'webgpu', 'vitest-plugin']
const PNPM = ['npx', '-y', 'pnpm@10.34.8']

const packAt = process.argv.indexOf('--pack')
const packDir = packAt >= 0 ? resolve(process.argv[packAt + 1] ?? '') : null
if (packAt >= 0 && !process.argv[packAt + 1]) {
  console.error('build-packages: --pack needs a folder')
  process.exit(2)
}

function platformKey() {
  if (process.platform === 'linux') {
    const glibc = typeof process.report?.getReport()?.header?.glibcVersionRuntime === 'string'
    return `linux-${process.arch}-${glibc ? 'gnu' : 'musl'}`
  }
  return `${process.platform}-${process.arch}`
}

const tsc = require.resolve('typescript/bin/tsc')
for (const name of PACKAGES) {
  const dir = join(root, 'packages', name)
  rmSync(join(dir, 'dist'), { recursive: true, force: true })
  execFileSync(process.execPath, [tsc, '-p', join(dir, 'tsconfig.build.json')], { stdio: 'inherit' })
}
console.log(`build-packages: compiled ${PACKAGES.join(', ')} to dist/`)

const key = platformKey()
const platformDir = join(root, 'packages', 'native', 'npm', key)
const packDirs = PACKAGES.map((name) => join(root, 'packages', name))
try {
  statSync(join(platformDir, 'package.json'))
  execFileSync(process.execPath, [join(root, 'packages', 'native', 'scripts', 'build.mjs'), '--out', platformDir], {
    stdio: 'inherit',
  })
  packDirs.push(platformDir)
} catch (error) {
  if (error?.code !== 'ENOENT') throw error
  console.log(`build-packages: no prebuilt package is defined for ${key}; the native addon is built from source there`)
}

if (packDir) {
  mkdirSync(packDir, { recursive: true })
  for (const file of readdirSync(packDir)) if (file.endsWith('.tgz')) rmSync(join(packDir, file))
  for (const dir of packDirs) {
    execFileSync(PNPM[0], [...PNPM.slice(1), 'pack', '--pack-destination', packDir], { cwd: dir, stdio: 'ignore' })
  }
  for (const file of readdirSync(packDir).sort()) {
    if (!file.endsWith('.tgz')) continue
    const kib = statSync(join(packDir, file)).size / 1024
    console.log(`build-packages: ${join(packDir, file)} (${kib.toFixed(0)} KiB)`)
  }
}
