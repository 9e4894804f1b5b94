#!/usr/bin/env node
// Measures what a user installs and loads: packs this repository (the current dist/), installs
// the tarball into fresh temp projects from the npm registry (default install, then
// --omit=optional), and prints the tarball size, node_modules size and package count, and
// the time and RSS of `node -e "import('torrent-fish')"` (median of 7 runs) as README rows.
//
//   node scripts/measure-package.mjs                      # npm run build first
//   node scripts/measure-package.mjs --override node-datachannel@0.33.4   # consumer override, said in the output
//
// The npm cache is a directory inside the temp dir: nothing is reused from, or left in, ~/.npm.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, mkdirSync, writeFileSync, readdirSync, statSync, rmSync } from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const repo = new URL('..', import.meta.url).pathname
const overrides = {}
for (let i = 2; i < process.argv.length; i++) {
  if (process.argv[i] === '--override') {
    const spec = process.argv[++i] ?? ''
    const at = spec.lastIndexOf('@')
    if (at <= 0) throw new Error(`--override name@version, got "${spec}"`)
    overrides[spec.slice(0, at)] = spec.slice(at + 1)
  }
}
const work = mkdtempSync(path.join(os.tmpdir(), 'torrent-fish-measure-'))
const env = { ...process.env, npm_config_cache: path.join(work, 'npm-cache'), npm_config_update_notifier: 'false', npm_config_fund: 'false', npm_config_audit: 'false' }

function run (cmd, args, cwd) {
  const started = performance.now()
  const r = spawnSync(cmd, args, { cwd, env, encoding: 'utf8', maxBuffer: 64 * 2 ** 20 })
  return { ...r, ms: performance.now() - started }
}

function bytesUnder (dir) {
  let total = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile()) total += statSync(path.join(entry.parentPath, entry.name)).size
  }
  return total
}

function packagesUnder (dir) {
  let n = 0
  for (const entry of readdirSync(dir, { recursive: true, withFileTypes: true })) {
    if (entry.isFile() && entry.name === 'package.json' && path.basename(path.dirname(path.dirname(path.join(entry.parentPath, entry.name)))) !== 'test' &&
      /node_modules\/(@[^/]+\/)?[^/@]+$/.test(entry.parentPath)) n++
  }
  return n
}

const median = xs => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]
const mb = b => `${(b / 1e6).toFixed(1)} MB`

try {
  const pack = run('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], repo)
  if (pack.status !== 0) throw new Error(`npm pack failed:\n${pack.stderr}`)
  const info = JSON.parse(pack.stdout.slice(pack.stdout.indexOf('[')))[0]
  const tarball = path.join(work, path.basename(info.filename))
  console.log(`tarball: ${(info.size / 1024).toFixed(0)} KiB, ${(info.unpackedSize / 1024).toFixed(0)} KiB unpacked, ${info.entryCount} files`)
  if (Object.keys(overrides).length > 0) console.log(`consumer overrides: ${JSON.stringify(overrides)}`)
  console.log('| install | time | node_modules | packages | import() | RSS after import |')
  console.log('| --- | --- | --- | --- | --- | --- |')
  for (const [label, flags] of [['npm install torrent-fish', []], ['npm install --omit=optional torrent-fish', ['--omit=optional']]]) {
    const dir = path.join(work, flags.length ? 'omit' : 'default')
    mkdirSync(dir)
    writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ name: 'measure', private: true, type: 'module', ...(Object.keys(overrides).length ? { overrides } : {}) }))
    const install = run('npm', ['install', ...flags, tarball], dir)
    if (install.status !== 0) {
      console.log(`| \`${label}\` | failed after ${(install.ms / 1000).toFixed(0)} s | | | | |`)
      console.error(install.stderr.split('\n').slice(-15).join('\n'))
      continue
    }
    const nm = path.join(dir, 'node_modules')
    const imports = []
    let rss = 0
    let wall = []
    for (let i = 0; i < 7; i++) {
      const started = performance.now()
      const r = run(process.execPath, ['-e', "const t = performance.now(); import('torrent-fish').then(() => console.log(JSON.stringify({ ms: performance.now() - t, rss: process.memoryUsage.rss() })))"], dir)
      wall.push(performance.now() - started)
      if (r.status !== 0) { console.error(r.stderr); break }
      const got = JSON.parse(r.stdout.trim())
      imports.push(got.ms)
      rss = Math.max(rss, got.rss)
    }
    const baseline = []
    for (let i = 0; i < 7; i++) { const s = performance.now(); run(process.execPath, ['-e', '0'], dir); baseline.push(performance.now() - s) }
    console.log(`| \`${label}\` | ${(install.ms / 1000).toFixed(0)} s | ${mb(bytesUnder(nm))} | ${packagesUnder(nm)} | ${imports.length ? `${median(imports).toFixed(0)} ms (process ${median(wall).toFixed(0)} ms vs ${median(baseline).toFixed(0)} ms for \`node -e 0\`)` : 'failed'} | ${rss ? `${(rss / 2 ** 20).toFixed(0)} MiB` : ''} |`)
    // The largest packages (a scope counts as one: @roamhq/wrtc's binary is @roamhq/wrtc-<platform>).
    const sizes = readdirSync(nm).filter(n => !n.startsWith('.')).map(n => [n, bytesUnder(path.join(nm, n))]).sort((a, b) => b[1] - a[1]).slice(0, 5)
    console.log(`  largest: ${sizes.map(([n, b]) => `${n} ${mb(b)}`).join(', ')}`)
  }
} finally {
  rmSync(work, { recursive: true, force: true })
}
