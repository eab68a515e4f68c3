#!/usr/bin/env node
// Builds the native addon (build/gpubench_native.node) with the C++ compiler directly: Node-API
// headers come from the npm packages node-api-headers and node-addon-api, so nothing is downloaded
// and one build serves every Node version with Node-API 8 (Node 20, 22, 24).
//
//  - CPU part: always; a failure here fails the install, loudly, with the compiler's output.
//  - CUDA part: only where nvcc is found (PATH, $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin)
//    and not on macOS; linked to the static CUDA runtime so the addon loads without a driver. Any
//    failure degrades to an addon without CUDA, with the reason in build/build-info.json.
//  - Metal part: only on macOS; same degradation.
// Prints one line saying what was built. Plain JavaScript (no type stripping) so any Node runs it.
//
// Usage: node scripts/build.mjs [--out DIR]  (DIR: where the addon and build-info.json go; default build/,
// the place the loader looks for a source build; objects are cached under build/obj either way).
//
// Environment: CXX (compiler), GPUBENCH_NATIVE_CUDA=0 / GPUBENCH_NATIVE_METAL=0 (skip a part),
// NVCC (nvcc to use), GPUBENCH_CUDA_ARCHS (e.g. "80,90"; default 80,90 plus PTX of the last).
import { execFile } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { availableParallelism, platform } from 'node:os'
import { delimiter, dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = dirname(dirname(fileURLToPath(import.meta.url)))
const src = join(root, 'src')
const out = join(root, 'build')
const outAt = process.argv.indexOf('--out')
if (outAt >= 0 && !process.argv[outAt + 1]) {
  console.error('gpubench native: --out needs a folder')
  process.exit(2)
}
const targetDir = outAt >= 0 ? resolve(process.argv[outAt + 1]) : out
const require = createRequire(join(root, 'package.json'))
const isMac = platform() === 'darwin'
const isWindows = platform() === 'win32'

function run(cmd, args) {
  return new Promise((resolve) => {
    execFile(cmd, args, { maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ ok: !error, output: `${stdout}${stderr}`.trim(), error })
    })
  })
}

/** Runs tasks with at most `limit` at a time; resolves to their results in order. */
async function pool(tasks, limit) {
  const results = new Array(tasks.length)
  let next = 0
  async function worker() {
    while (next < tasks.length) {
      const i = next++
      results[i] = await tasks[i]()
    }
  }
  await Promise.all(Array.from({ length: Math.min(limit, tasks.length) }, worker))
  return results
}

function files(dir, ext) {
  return readdirSync(join(src, dir))
    .filter((f) => f.endsWith(ext))
    .sort()
    .map((f) => join(src, dir, f))
}

function newestHeader() {
  let newest = statSync(fileURLToPath(import.meta.url)).mtimeMs
  for (const dir of ['common', 'cpu', 'cuda', 'metal', '.']) {
    if (!existsSync(join(src, dir))) continue
    for (const f of readdirSync(join(src, dir))) {
      if (/\.(h|hpp|cuh)$/.test(f)) newest = Math.max(newest, statSync(join(src, dir, f)).mtimeMs)
    }
  }
  return newest
}

function findOnPath(name) {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    if (dir && existsSync(join(dir, name))) return join(dir, name)
  }
  return null
}

function findNvcc() {
  if (process.env.NVCC) return process.env.NVCC
  const onPath = findOnPath('nvcc')
  if (onPath) return onPath
  for (const home of [process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda']) {
    if (home && existsSync(join(home, 'bin', 'nvcc'))) return join(home, 'bin', 'nvcc')
  }
  return null
}

/** The CUDA toolkit root of an nvcc, whether nvcc is a real file there or a link on PATH. */
async function cudaRootOf(nvcc) {
  for (const candidate of [dirname(dirname(nvcc)), process.env.CUDA_HOME, process.env.CUDA_PATH, '/usr/local/cuda']) {
    if (candidate && existsSync(join(candidate, 'include', 'cuda_runtime.h'))) return candidate
  }
  return null
}

const headerTime = newestHeader()

/** Compiles one source unless its object is newer than it and every header (flags are part of the name). */
async function compile(compiler, flags, source) {
  const tag = createHash('sha1')
    .update(`${compiler} ${flags.join(' ')}`)
    .digest('hex')
    .slice(0, 8)
  const object = join(out, 'obj', `${relative(src, source).replaceAll('/', '_')}.${tag}.o`)
  if (existsSync(object)) {
    const t = statSync(object).mtimeMs
    if (t > statSync(source).mtimeMs && t > headerTime) return { ok: true, object, source }
  }
  const result = await run(compiler, [...flags, '-c', source, '-o', object])
  return { ...result, object, source }
}

async function main() {
  if (isWindows) {
    console.error('gpubench native: Windows is not supported by this build script (Linux and macOS are)')
    process.exit(1)
  }
  mkdirSync(join(out, 'obj'), { recursive: true })
  const cxx = process.env.CXX || (isMac ? 'clang++' : 'c++')
  const napiInclude = join(dirname(require.resolve('node-api-headers/package.json')), 'include')
  const addonInclude = require('node-addon-api').include_dir
  const common = [
    '-std=c++17',
    '-O3',
    '-fPIC',
    '-fvisibility=hidden',
    '-Wall',
    '-Wno-unused-function',
    '-DNAPI_CPP_EXCEPTIONS',
    '-DNODE_ADDON_API_DISABLE_DEPRECATED',
    `-I${napiInclude}`,
    `-I${addonInclude}`,
    `-I${src}`,
  ]
  const jobs = Math.max(1, availableParallelism())
  const info = { cpu: { built: true }, cuda: { built: false, reason: '' }, metal: { built: false, reason: '' } }

  // ---- CUDA (optional)
  let cudaObjects = []
  let cudaLink = []
  if (isMac) info.cuda.reason = 'not built on macOS'
  else if (process.env.GPUBENCH_NATIVE_CUDA === '0') info.cuda.reason = 'not built: GPUBENCH_NATIVE_CUDA=0'
  else {
    const nvcc = findNvcc()
    const cudaRoot = nvcc ? await cudaRootOf(nvcc) : null
    if (!nvcc)
      info.cuda.reason = 'not built: nvcc not found (PATH, $CUDA_HOME/bin, $CUDA_PATH/bin, /usr/local/cuda/bin)'
    else if (!existsSync(nvcc)) info.cuda.reason = `not built: NVCC=${nvcc} does not exist`
    else if (!cudaRoot) info.cuda.reason = `not built: no CUDA headers beside ${nvcc}`
    else {
      const libDir = ['lib64', 'lib', 'lib/x64']
        .map((d) => join(cudaRoot, d))
        .find((d) => existsSync(join(d, 'libcudart_static.a')))
      if (!libDir) info.cuda.reason = `not built: libcudart_static.a not found under ${cudaRoot}`
      else {
        const archs = (process.env.GPUBENCH_CUDA_ARCHS ?? '80,90')
          .split(',')
          .map((a) => a.trim())
          .filter(Boolean)
        const last = archs[archs.length - 1]
        const gencode = archs.flatMap((a) => ['-gencode', `arch=compute_${a},code=sm_${a}`])
        gencode.push('-gencode', `arch=compute_${last},code=compute_${last}`)
        const nvccFlags = ['-std=c++17', '-O3', '-Xcompiler', '-fPIC', `-I${src}`, ...gencode]
        const hostFlags = [...common, '-DGPUBENCH_WITH_CUDA=1', `-I${join(cudaRoot, 'include')}`]
        const tasks = [
          ...files('cuda', '.cu').map((f) => () => compile(nvcc, nvccFlags, f)),
          ...files('cuda', '.cpp').map((f) => () => compile(cxx, hostFlags, f)),
        ]
        const results = await pool(tasks, jobs)
        const failed = results.find((r) => !r.ok)
        if (failed) {
          info.cuda.reason = `not built: ${relative(root, failed.source)} failed to compile: ${failed.output.split('\n').slice(0, 6).join(' | ') || `exit ${failed.error?.code}`}`
        } else {
          cudaObjects = results.map((r) => r.object)
          cudaLink = [`-L${libDir}`, '-lcudart_static', '-ldl', '-lpthread', '-lrt']
          info.cuda = { built: true, nvcc, archs: archs.join(','), reason: '' }
        }
      }
    }
  }

  // ---- Metal (optional, macOS only)
  let metalObjects = []
  let metalLink = []
  if (!isMac) info.metal.reason = 'not built: Metal exists only on macOS'
  else if (process.env.GPUBENCH_NATIVE_METAL === '0') info.metal.reason = 'not built: GPUBENCH_NATIVE_METAL=0'
  else {
    const mmFlags = [...common, '-DGPUBENCH_WITH_METAL=1', '-fobjc-arc', '-x', 'objective-c++']
    const results = await pool(
      files('metal', '.mm').map((f) => () => compile(cxx, mmFlags, f)),
      jobs,
    )
    const failed = results.find((r) => !r.ok)
    if (failed) {
      info.metal.reason = `not built: ${relative(root, failed.source)} failed to compile: ${failed.output.split('\n').slice(0, 6).join(' | ')}`
    } else {
      metalObjects = results.map((r) => r.object)
      metalLink = ['-framework', 'Metal', '-framework', 'MetalPerformanceShaders', '-framework', 'Foundation']
      info.metal = { built: true, reason: '' }
    }
  }

  // ---- CPU and the N-API layer (required). addon.cpp is compiled per configuration of optional parts.
  const cpuSources = [...files('cpu', '.cpp'), join(src, 'addon.cpp')]
  async function buildCore(withCuda, withMetal) {
    const flags = [...common, `-DGPUBENCH_WITH_CUDA=${withCuda ? 1 : 0}`, `-DGPUBENCH_WITH_METAL=${withMetal ? 1 : 0}`]
    return pool(
      cpuSources.map((f) => () => compile(cxx, flags, f)),
      jobs,
    )
  }
  mkdirSync(targetDir, { recursive: true })
  const target = join(targetDir, 'gpubench_native.node')
  async function link(objects, extra) {
    rmSync(target, { force: true })
    // The napi_* symbols stay unresolved: the node executable provides them when the addon loads.
    const shared = isMac ? ['-bundle', '-undefined', 'dynamic_lookup'] : ['-shared', '-pthread']
    return run(cxx, [...shared, '-o', target, ...objects, ...extra, '-ldl'])
  }

  let core = await buildCore(cudaObjects.length > 0, metalObjects.length > 0)
  let failed = core.find((r) => !r.ok)
  if (failed) {
    console.error(
      `gpubench native: the CPU part failed to compile (${relative(root, failed.source)}):\n${failed.output}`,
    )
    process.exit(1)
  }
  let linked = await link([...core.map((r) => r.object), ...cudaObjects, ...metalObjects], [...cudaLink, ...metalLink])
  if (!linked.ok && (cudaObjects.length || metalObjects.length)) {
    const why = `link failed: ${linked.output.split('\n').slice(0, 4).join(' | ')}`
    if (cudaObjects.length) info.cuda = { built: false, reason: `not built: ${why}` }
    if (metalObjects.length) info.metal = { built: false, reason: `not built: ${why}` }
    core = await buildCore(false, false)
    failed = core.find((r) => !r.ok)
    if (failed) {
      console.error(
        `gpubench native: the CPU part failed to compile (${relative(root, failed.source)}):\n${failed.output}`,
      )
      process.exit(1)
    }
    linked = await link(
      core.map((r) => r.object),
      [],
    )
  }
  if (!linked.ok) {
    console.error(`gpubench native: linking the addon failed:\n${linked.output}`)
    process.exit(1)
  }
  info.builtAt = new Date().toISOString()
  info.compiler = cxx
  writeFileSync(join(targetDir, 'build-info.json'), `${JSON.stringify(info, null, 2)}\n`)
  const part = (name, p) => (p.built ? `${name} yes` : `${name} no (${p.reason.replace(/^not built: /, '')})`)
  console.log(
    `gpubench native: built ${relative(process.cwd(), target) || target}: cpu yes, ${part('cuda', info.cuda)}, ${part('metal', info.metal)}`,
  )
}

main().catch((error) => {
  console.error(`gpubench native: build failed: ${error?.stack ?? error}`)
  process.exit(1)
})
