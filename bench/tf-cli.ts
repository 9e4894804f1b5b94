/**
 * The torrent-fish CLI run from the TypeScript sources, so the benchmark measures the code in
 * this checkout even when dist/ is stale (bin/torrent-fish.js prefers dist/ when it exists).
 * Same arguments as bin/torrent-fish.js.
 */
import { main } from '../src/cli/main.ts'

process.exitCode = await main(process.argv.slice(2))
