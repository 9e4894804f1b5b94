/**
 * Builds what the browser tests load: the browser bundles (rollup.config.mjs, browser part)
 * and dist/browser-test/conformance.js, the conformance suite for running inside a page.
 * Run by harness.ts under a file lock when sources are newer than the bundles.
 */
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { rollup, type Plugin } from 'rollup'
import ts from 'typescript'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
process.chdir(ROOT)
process.env.TF_BUILD = 'browser'
const config = await import(path.join(ROOT, 'rollup.config.mjs'))
const started = Date.now()
for (const options of config.default) {
  const bundle = await rollup(options)
  for (const output of options.output) await bundle.write(output)
  await bundle.close()
}
// Transpile-only TypeScript for src/ and test/ (types are checked by tsc, not here).
const transpile: Plugin = {
  name: 'transpile-ts',
  transform (code, id) {
    if (!id.endsWith('.ts')) return null
    const out = ts.transpileModule(code, { fileName: id, compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true, verbatimModuleSyntax: true } })
    return { code: out.outputText, map: out.sourceMapText }
  }
}
const testBundle = await rollup({
  input: 'test/browser/pages/conformance-entry.ts',
  plugins: [...config.browserPlugins().filter((p: Plugin) => p.name !== 'typescript'), transpile],
  onwarn: () => {}
})
await testBundle.write({ file: 'dist/browser-test/conformance.js', format: 'es', sourcemap: true })
await testBundle.close()
console.error(`built browser bundles in ${Date.now() - started} ms`)
