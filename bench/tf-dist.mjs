// torrent-fish's CLI from the build in dist/ (what an npm install runs), for `--dist` runs.
// bin/torrent-fish.js runs the sources in a checkout, so it cannot be used to measure dist/.
import { existsSync } from 'node:fs'

const built = new URL('../dist/cli/main.js', import.meta.url)
if (!existsSync(built)) {
  console.error('bench --dist: dist/ is not built; run npm run build first')
  process.exit(1)
}
const { main } = await import(built.href)
process.exitCode = await main(process.argv.slice(2))
