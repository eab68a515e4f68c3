/**
 * Generates packages/core/src/store/baseline.generated.ts from schema/baseline.schema.json, so
 * the baseline file's TypeScript types can never drift from the schema that validates it. The
 * generated file is committed; test/generated-types.test.ts regenerates it in memory and fails
 * when the committed copy is stale. Run: `pnpm --filter @gpubench/core generate:types`.
 */
import { readFile, writeFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import { compile } from 'json-schema-to-typescript'

export const SCHEMA_PATH = fileURLToPath(new URL('../schema/baseline.schema.json', import.meta.url))
export const GENERATED_TYPES_PATH = fileURLToPath(new URL('../src/store/baseline.generated.ts', import.meta.url))

const BANNER = [
  '// Generated from packages/core/schema/baseline.schema.json by packages/core/scripts/generate-types.ts.',
  '// Do not edit: change the schema and run `pnpm --filter @gpubench/core generate:types`.',
].join('\n')

/** Returns the TypeScript source generated from the schema, without writing anything. */
export async function generateBaselineTypes(): Promise<string> {
  const schema = JSON.parse(await readFile(SCHEMA_PATH, 'utf8'))
  return compile(schema, 'BaselineFile', {
    bannerComment: BANNER,
    additionalProperties: false,
    strictIndexSignatures: false,
    unknownAny: true,
    format: true,
    style: { singleQuote: true, semi: false, printWidth: 120, trailingComma: 'all' },
  })
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(GENERATED_TYPES_PATH, await generateBaselineTypes())
  console.log(`wrote ${GENERATED_TYPES_PATH}`)
}
