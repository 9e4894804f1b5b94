/**
 * The rooms' rules (.dependency-cruiser.cjs) hold: no import circles in src/, the core imports
 * nothing outside the core and nothing of Node, the isomorphic rooms stay isomorphic, no
 * part imports the service, and no module imports the public entries (index/node/browser.ts). The same rules are shown to catch a circle and a core import on a
 * small tree made for the purpose, so a rule that silently matches nothing fails here too.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { mkdir, writeFile } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { tmpDir } from '../fixtures/tmp.ts'

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const DEPCRUISE = path.join(ROOT, 'node_modules', '.bin', 'depcruise')
const CONFIG = path.join(ROOT, '.dependency-cruiser.cjs')

interface Cruise { code: number, violations: Array<{ rule: { name: string }, from: string, to: string }> }

function cruise (cwd: string): Promise<Cruise> {
  return new Promise((resolve, reject) => {
    execFile(DEPCRUISE, ['src', '--config', CONFIG, '--output-type', 'json'], { cwd, maxBuffer: 64 * 1024 * 1024 }, (err, stdout) => {
      try {
        const out = JSON.parse(stdout)
        resolve({ code: (err as { code?: number } | null)?.code ?? 0, violations: out.summary.violations })
      } catch (parseError) { reject(err ?? parseError) }
    })
  })
}

test('src/ has no import circles, and every room keeps to its rules', async () => {
  const { violations } = await cruise(ROOT)
  assert.deepEqual(violations.map(v => `${v.rule.name}: ${v.from} -> ${v.to}`), [])
})

test('the rules catch a circle, a core import of another room, a part importing the service, a module importing an entry', async t => {
  const dir = await tmpDir(t, 'depcruise')
  const files: Record<string, string> = {
    'src/core/a.ts': "import { b } from './b.ts'\nimport { x } from '../http/x.ts'\nexport const a = () => b() + x\n",
    'src/core/b.ts': "import { a } from './a.ts'\nexport const b = () => typeof a\n",
    'src/http/x.ts': "import { TorrentFish } from '../node/torrent-fish.ts'\nexport const x = String(TorrentFish)\n",
    'src/node/torrent-fish.ts': 'export class TorrentFish {}\n',
    // A module reaching into the public entry instead of the module that has the thing.
    'src/index.ts': "export { TorrentFish } from './node/torrent-fish.ts'\n",
    'src/http/y.ts': "import { TorrentFish } from '../index.ts'\nexport const y = String(TorrentFish)\n",
    'tsconfig.json': JSON.stringify({ compilerOptions: { module: 'NodeNext', moduleResolution: 'NodeNext', allowImportingTsExtensions: true, noEmit: true } })
  }
  for (const [name, text] of Object.entries(files)) {
    await mkdir(path.dirname(path.join(dir, name)), { recursive: true })
    await writeFile(path.join(dir, name), text)
  }
  const { violations } = await cruise(dir)
  const rules = new Set(violations.map(v => v.rule.name))
  assert.ok(rules.has('no-circular'), `circle caught (${[...rules].join(', ')})`)
  assert.ok(rules.has('core-imports-only-core'), 'core importing http caught')
  assert.ok(rules.has('parts-never-import-the-service'), 'http importing the service caught')
  assert.ok(rules.has('entries-are-leaves'), 'a module importing the public entry caught')
})
