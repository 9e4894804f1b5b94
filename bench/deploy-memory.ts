/**
 * Memory to expect from a deployment, for docs/deploy.md: the built CLI (dist/, as in the Docker
 * image) configured like the image (HTTP face on, uTP on, a DHT node running) loads synthetic
 * corpora of 1k, 10k and 20k torrents (bench/corpus.ts: the realistic spread of info-dict
 * sizes); RSS is read once the peer has loaded, settled and served a sample (scale-bench.ts).
 * The DHT has no bootstrap nodes and trackers are not announced to, so the figures are the
 * process's own and not a function of what the network answers.
 *
 *   npm run build && node bench/deploy-memory.ts [--sizes 1000,10000,20000]
 */
import { parseArgs } from 'node:util'
import { ensureCorpus } from './corpus.ts'
import { runScale, type ScaleRun } from './scale-bench.ts'

const { values } = parseArgs({ options: { sizes: { type: 'string', default: '1000,10000,20000' } } })
const sizes = values.sizes.split(',').map(Number)
const mib = (kib: number): string => (kib / 1024).toFixed(0)

const runs: ScaleRun[] = []
for (const n of sizes) {
  const corpus = ensureCorpus(n, line => console.error(line))
  const run = await runScale('torrent-fish', corpus, {
    dist: true,
    tfArgs: ['--http', '127.0.0.1:0', '--dht-bootstrap', 'none', '--no-announce', '--no-lsd']
  })
  if (run.loaded !== n || run.verified !== run.sampled) throw new Error(`${n}: loaded ${run.loaded}, verified ${run.verified}/${run.sampled}`)
  runs.push(run)
  console.log(`${String(n).padStart(7)} torrents: RSS ${mib(run.rssKiB)} MiB (${mib(run.rssReadyKiB)} MiB when loaded, peak ${mib(run.hwmKiB)} MiB), loaded in ${(run.loadMs / 1000).toFixed(1)} s`)
}
for (let i = 1; i < runs.length; i++) {
  const a = runs[i - 1]
  const b = runs[i]
  const per10k = (b.rssKiB - a.rssKiB) / ((b.torrents - a.torrents) / 10_000)
  console.log(`${a.torrents} -> ${b.torrents}: +${mib(per10k)} MiB per 10k torrents`)
}
