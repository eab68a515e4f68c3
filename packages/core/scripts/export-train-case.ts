/**
 * Writes a training case for scripts/device/torch_train.py --check: the parameters (with the
 * jitter verification uses) and tokens of a small workload, and the float64 reference's loss and
 * gradients at them, so the PyTorch model can be shown to be the project's.
 *
 *   node packages/core/scripts/export-train-case.ts DIR
 */
import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { describeTrain, initParameters, referenceStep, train, trainData } from '../src/index.ts'

const dir = process.argv[2]
if (!dir) {
  console.error('usage: node packages/core/scripts/export-train-case.ts DIR')
  process.exit(2)
}
const w = train({
  model: { layers: 2, dModel: 32, heads: 4, mlp: 128, vocab: 64, positions: 32 },
  batch: 3,
  seq: 24,
})
const parameters = initParameters(w.model, w.initSeed, { jitter: true })
const tokens = trainData(w)
const ref = referenceStep(w, Float64Array.from(parameters), tokens)
mkdirSync(dir, { recursive: true })
writeFileSync(join(dir, 'parameters.f32'), new Uint8Array(parameters.buffer))
writeFileSync(join(dir, 'tokens.i32'), new Uint8Array(tokens.buffer, tokens.byteOffset, tokens.byteLength))
writeFileSync(join(dir, 'gradients.f64'), new Uint8Array(ref.gradients.buffer))
writeFileSync(
  join(dir, 'case.json'),
  `${JSON.stringify({ name: describeTrain(w), workload: w, loss: ref.loss }, null, 2)}\n`,
)
console.log(`wrote ${describeTrain(w)} to ${dir} (reference loss ${ref.loss})`)
