// Builds:
//  - dist/: Node ESM, one file per module (preserveModules), dependencies left external.
//  - Type declarations come from `tsc --emitDeclarationOnly` (see the build script).
//  - dist/browser/torrent-fish.js: browser ESM, one self-contained file (src/browser.ts).
//  - dist/browser/torrent-fish.min.js: the same as a minified IIFE for a script tag, one global
//    `TorrentFish`. Both resolve packages through their `browser` fields and must keep no Node
//    built-in (test/node/webrtc-bundle.test.ts checks).
import typescript from '@rollup/plugin-typescript'
import resolve from '@rollup/plugin-node-resolve'
import commonjs from '@rollup/plugin-commonjs'
import json from '@rollup/plugin-json'
import replace from '@rollup/plugin-replace'
import terser from '@rollup/plugin-terser'
import { readFileSync } from 'node:fs'

const pkg = JSON.parse(readFileSync(new URL('./package.json', import.meta.url)))
const deps = [...Object.keys(pkg.dependencies ?? {}), ...Object.keys(pkg.optionalDependencies ?? {})]
const external = id => id.startsWith('node:') || deps.some(d => id === d || id.startsWith(`${d}/`)) ||
  ['events', 'net', 'dgram', 'fs', 'path', 'os', 'http', 'https', 'crypto', 'url', 'stream'].includes(id)

const node = {
  input: { node: 'src/node.ts', index: 'src/index.ts', 'cli/main': 'src/cli/main.ts' },
  output: { dir: 'dist', format: 'es', preserveModules: true, preserveModulesRoot: 'src', sourcemap: false },
  external,
  plugins: [typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist', noEmit: false, allowImportingTsExtensions: true, rewriteRelativeImportExtensions: true })]
}

// bittorrent-protocol maps ./mse.js to false for browsers but still imports names from it.
// MSE/PE is TCP/uTP only; WebRTC never uses it, so the names only need to exist.
const MSE_STUB = '\0torrent-fish-mse-stub'
const mseStub = {
  name: 'mse-stub',
  resolveId (id, importer) {
    if (id === './mse.js' && importer && importer.includes('bittorrent-protocol')) return MSE_STUB
    return null
  },
  load (id) {
    if (id !== MSE_STUB) return null
    return 'export const nativeRC4 = false\nexport class MessageStreamEncryptor { constructor () { throw new Error(\'MSE/PE is not available in browsers\') } }\n'
  }
}

export const browserPlugins = () => [
  mseStub,
  replace({ preventAssignment: true, values: { 'process.browser': 'true', 'process.env.NODE_ENV': JSON.stringify('production') } }),
  resolve({ browser: true, preferBuiltins: false, exportConditions: ['browser', 'import', 'default'] }),
  commonjs(),
  json(),
  typescript({ tsconfig: './tsconfig.json', declaration: false, outDir: 'dist/browser', noEmit: false, allowImportingTsExtensions: true, rewriteRelativeImportExtensions: true, sourceMap: true })
]

const browser = {
  input: 'src/browser.ts',
  output: [
    { file: 'dist/browser/torrent-fish.js', format: 'es', sourcemap: true },
    { file: 'dist/browser/torrent-fish.min.js', format: 'iife', name: 'TorrentFish', sourcemap: true, plugins: [terser()] }
  ],
  plugins: browserPlugins(),
  onwarn (warning, warn) {
    // debug's and streamx's optional pieces trigger these; they are harmless in a browser.
    if (warning.code === 'CIRCULAR_DEPENDENCY' || warning.code === 'THIS_IS_UNDEFINED') return
    warn(warning)
  }
}

export default process.env.TF_BUILD === 'browser' ? [browser] : [node, browser]
