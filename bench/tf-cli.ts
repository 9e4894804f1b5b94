/**
 * The torrent-fish CLI run from the TypeScript sources, so the benchmark measures the code in
 * this checkout even when dist/ is stale (bin/torrent-fish.js prefers dist/ when it exists).
 * Same arguments as bin/torrent-fish.js.
 */
// The same compile cache as bin/torrent-fish.js, enabled before the sources are imported.
import { enableCompileCache } from '../bin/compile-cache.js'
enableCompileCache()
const { main } = await import('../src/cli/main.ts')

process.exitCode = await main(process.argv.slice(2))
