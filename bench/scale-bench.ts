/**
 * The scale benchmark: start a peer on a corpus of N torrents, time the load, read its RSS
 * once loaded and again after a short settle (so a collector that has not run yet is not
 * counted against it), then prove it serves by fetching a sample of the torrents.
 */
import { fetchMetadata } from './bep9-client.ts'
import { prng, type Corpus } from './corpus.ts'
import { cpuMs, machineBusyMs, memoryKiB } from './proc-stats.ts'
import { startPeer, type PeerName, type StartOptions } from './peers.ts'

export interface ScaleRun {
  peer: PeerName
  /** A non-default configuration of the peer (e.g. '--no-watch'); not used for the targets. */
  variant?: string
  torrents: number
  loaded: number
  failed: number
  /** spawn() -> every torrent loaded and listening. */
  loadMs: number
  /** libtorrent: spawn() -> every torrent checked and served (it refuses peers of a checking torrent). */
  readyMs?: number
  /**
   * CPU the rest of the machine used while the peer loaded, in cores: well above 0 means
   * other work shared the CPUs and the load time is pessimistic.
   */
  backgroundCores: number
  /** RSS when it reported ready. */
  rssReadyKiB: number
  /** RSS after the settle and the sample fetches: the figure the targets use. */
  rssKiB: number
  /** Peak RSS over the process's life (VmHWM). */
  hwmKiB: number
  /** Sample exchanges that fetched and verified the metadata. */
  verified: number
  sampled: number
  /** With idleMs: the process's CPU over that window after the sample, no leechers (1.0 = one core). */
  idleCpu?: number
  /** CPU seconds (user + system) the process spent until it was ready: load cost without the wall-clock noise. */
  loadCpuS: number
}

/** Time after loading before the steady RSS is read. */
const SETTLE_MS = 1000
/** Torrents fetched after loading to prove the peer serves at this scale. */
const SAMPLE = 24

export async function runScale (name: PeerName, corpus: Corpus, options: StartOptions & { idleMs?: number, idleSettleMs?: number } = {}, variant?: string): Promise<ScaleRun> {
  const machine0 = machineBusyMs()
  const self0 = process.cpuUsage()
  const t0 = performance.now()
  const peer = await startPeer(name, corpus.dir, options)
  const selfCpu = process.cpuUsage(self0)
  const background = Math.max(0, machineBusyMs() - machine0 - cpuMs(peer.pid) - (selfCpu.user + selfCpu.system) / 1000) / (performance.now() - t0)
  try {
    const loadCpuS = cpuMs(peer.pid) / 1000
    const ready = memoryKiB(peer.pid)
    await new Promise(resolve => setTimeout(resolve, SETTLE_MS))
    // A deterministic sample plus the largest info dict, fetched a few at a time.
    const rand = prng(99)
    const largest = corpus.entries.reduce((a, b) => (b.s > a.s ? b : a))
    const sample = [largest, ...Array.from({ length: SAMPLE - 1 }, () => corpus.entries[Math.floor(rand() * corpus.entries.length)])]
    let verified = 0
    for (let i = 0; i < sample.length; i += 4) {
      const batch = sample.slice(i, i + 4).map(async e => {
        try {
          const size = await fetchMetadata({ host: '127.0.0.1', port: peer.port, infoHash: e.h, timeoutMs: 15_000 })
          if (size === e.s) verified += 1
        } catch { /* counted as not verified */ }
      })
      await Promise.all(batch)
    }
    const mem = memoryKiB(peer.pid)
    let idleCpu: number | undefined
    if (options.idleMs) {
      // Let the load's aftermath (V8's memory reducer, the first announces) pass first.
      await new Promise(resolve => setTimeout(resolve, options.idleSettleMs ?? 0))
      const c0 = cpuMs(peer.pid)
      const t1 = performance.now()
      await new Promise(resolve => setTimeout(resolve, options.idleMs))
      idleCpu = (cpuMs(peer.pid) - c0) / (performance.now() - t1)
    }
    return {
      peer: name,
      ...(variant ? { variant } : {}),
      torrents: corpus.entries.length,
      loaded: peer.loaded,
      failed: peer.failed,
      loadMs: peer.loadMs,
      ...(peer.readyMs !== undefined ? { readyMs: peer.readyMs } : {}),
      backgroundCores: background,
      rssReadyKiB: ready.rss,
      rssKiB: mem.rss,
      hwmKiB: mem.hwm,
      verified,
      sampled: sample.length,
      loadCpuS,
      ...(idleCpu !== undefined ? { idleCpu } : {})
    }
  } finally {
    await peer.stop()
  }
}
