// Finishes dist/ after rollup and tsc. Copies scripts/require.cjs (the `require` export: the
// module, or a clear error where require() cannot load it). And makes dist/*.d.ts usable by a
// strict TypeScript consumer without skipLibCheck:
//  1. tsc keeps `.ts` in relative imports of emitted declarations; point them at `.js`.
//  2. Packages without typings (bittorrent-protocol, streamx, ...) and `events` (a browser-only
//     project has no @types/node) are imported from shipped declarations in dist/types/
//     instead: a hand-written shim from scripts/dts-shims/, or the module's body from the
//     ambient declarations in src/types/ that this repository compiles against.
//  3. Any other bare import must be a Node built-in or a dependency that ships typings;
//     otherwise the build fails naming the file and the module.
import { readdir, readFile, writeFile, mkdir, copyFile } from 'node:fs/promises'
import { existsSync, readFileSync } from 'node:fs'
import path from 'node:path'

const repo = new URL('..', import.meta.url).pathname
const dist = path.join(repo, 'dist')
const shimDir = path.join(repo, 'scripts', 'dts-shims')
const typesOut = path.join(dist, 'types')
const pkg = JSON.parse(readFileSync(path.join(repo, 'package.json'), 'utf8'))

/** `declare module 'name' { body }` blocks of src/types/*.d.ts, by module name. */
async function ambientModules () {
  const out = new Map()
  const dir = path.join(repo, 'src', 'types')
  for (const file of await readdir(dir)) {
    const text = await readFile(path.join(dir, file), 'utf8')
    const re = /declare module '([^']+)' \{/g
    let m
    while ((m = re.exec(text)) !== null) {
      let depth = 1
      let i = re.lastIndex
      for (; i < text.length && depth > 0; i++) {
        if (text[i] === '{') depth++
        else if (text[i] === '}') depth--
      }
      out.set(m[1], text.slice(re.lastIndex, i - 1).replace(/^ {2}/gm, ''))
    }
  }
  return out
}

function hasOwnTypings (name) {
  const root = name.startsWith('@') ? name.split('/').slice(0, 2).join('/') : name.split('/')[0]
  const manifest = path.join(repo, 'node_modules', root, 'package.json')
  if (!existsSync(manifest)) return false
  const p = JSON.parse(readFileSync(manifest, 'utf8'))
  return Boolean(p.types || p.typings || (p.exports && JSON.stringify(p.exports).includes('"types"')) || existsSync(path.join(repo, 'node_modules', root, 'index.d.ts')))
}

await copyFile(path.join(repo, 'scripts', 'require.cjs'), path.join(dist, 'require.cjs'))

const ambient = await ambientModules()
const shipped = new Map() // module name -> file name in dist/types
const shimName = name => name.replace(/\//g, '__')

function shimFor (name) {
  if (shipped.has(name)) return shipped.get(name)
  const file = path.join(shimDir, `${shimName(name)}.d.ts`)
  let text
  if (existsSync(file)) text = readFileSync(file, 'utf8')
  else if (ambient.has(name)) text = `// Shipped declarations for '${name}' (it has no typings of its own): what torrent-fish uses.\n${ambient.get(name)}`
  else return null
  shipped.set(name, `${shimName(name)}.d.ts`)
  pending.push([name, text])
  return shipped.get(name)
}

const pending = []
const problems = []

/** Rewrites the bare imports of one declaration file; `fromDir` is where the file will live. */
function rewrite (text, fromDir, label) {
  return text
    .replace(/((?:from\s+|import\()')(\.{1,2}\/[^']*?)\.ts'/g, "$1$2.js'")
    .replace(/((?:from\s+|import\(\s*)')([^.'/][^']*)'/g, (all, lead, name) => {
      if (name.startsWith('node:')) return all
      const shim = shimFor(name)
      if (shim) {
        let rel = path.relative(fromDir, path.join(typesOut, shim.replace(/\.d\.ts$/, '.js')))
        if (!rel.startsWith('.')) rel = `./${rel}`
        return `${lead}${rel}'`
      }
      const known = name in (pkg.dependencies ?? {}) || name in (pkg.optionalDependencies ?? {}) || ['events', 'stream', 'net', 'dgram', 'fs', 'path', 'os', 'http', 'https', 'crypto', 'url'].includes(name)
      if (!known || !hasOwnTypings(name)) problems.push(`${label}: imports '${name}', which has no typings and no shim in scripts/dts-shims/ or src/types/`)
      return all
    })
}

for (const entry of await readdir(dist, { recursive: true })) {
  if (!entry.endsWith('.d.ts') || entry.startsWith('types/')) continue
  const file = path.join(dist, entry)
  const text = await readFile(file, 'utf8')
  const fixed = rewrite(text, path.dirname(file), entry)
  if (fixed !== text) await writeFile(file, fixed)
}
await mkdir(typesOut, { recursive: true })
while (pending.length > 0) {
  const [name, text] = pending.shift()
  await writeFile(path.join(typesOut, shipped.get(name)), rewrite(text, typesOut, `types/${shipped.get(name)}`))
}
if (problems.length > 0) {
  console.error(problems.join('\n'))
  process.exit(1)
}
