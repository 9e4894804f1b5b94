// Builds:
//  - dist/: Node ESM, one file per module (preserveModules), dependencies left external.
//  - Type declarations come from `tsc --emitDeclarationOnly` (see the build script).
// Browser builds (ESM + IIFE for a script tag) are added below by the WebRTC work.
import typescript from '@rollup/plugin-typescript'
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url)))
const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]
const external = id => id.startsWith('node:') || deps.some(d => id === d || id.startsWith(`${d}/`)) ||
  ['events', 'net', 'dgram', 'fs', 'path', 'os', 'http', 'https', 'crypto', 'url', 'stream'].includes(id)

const node = {
  input: { node: 'src/node.ts', index: 'src/index.ts', 'cli/main': 'src/cli/main.ts' },
  output: { dir: 'dist', format: 'es', preserveModules: true, preserveModulesRoot: 'src', sourcemap: true },
  external,
  plugins: [typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist', noEmit: false, allowImportingTsExtensions: true, rewriteRelativeImportExtensions: true })]
}

export default [node]
