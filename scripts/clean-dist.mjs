// Empties dist/ before a build: rollup and tsc only add files, so a module removed or renamed
// in src/ would otherwise ship its stale .js and .d.ts in the tarball (and its declarations
// could still be reached by a consumer's deep import).
import { rm } from 'node:fs/promises'

await rm(new URL('../dist', import.meta.url), { recursive: true, force: true })
