// tsc keeps `.ts` in the relative imports of emitted .d.ts files; consumers resolve the
// built `.js`/`.d.ts` pairs, so point those imports at `.js`.
import { readdir, readFile, writeFile } from 'node:fs/promises'
import path from 'node:path'

const root = new URL('../dist/', import.meta.url).pathname
for (const entry of await readdir(root, { recursive: true })) {
  if (!entry.endsWith('.d.ts')) continue
  const file = path.join(root, entry)
  const text = await readFile(file, 'utf8')
  const fixed = text.replace(/(from\s+'\.{1,2}\/[^']*?)\.ts'/g, "$1.js'").replace(/(import\('\.{1,2}\/[^']*?)\.ts'\)/g, "$1.js')")
  if (fixed !== text) await writeFile(file, fixed)
}
