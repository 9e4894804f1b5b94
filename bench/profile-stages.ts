/**
 * Where a V8 CPU profile of torrent-fish spends its time, per stage of a metadata exchange:
 * accept, handshake routing, Wire construction, extended handshake, parsing, serving, close,
 * logging, GC. Each sample goes to the innermost frame on its stack that names a stage (so
 * bencoding inside the extended handshake counts as "extended handshake", a socket write
 * inside serving as "serving"); samples with no such frame go to "other JS" or, when V8 was
 * in native code with no JavaScript on the stack, to "(program)" / "(garbage collector)".
 *
 *   node bench/profile-stages.ts PROFILE.cpuprofile [--top N] [--between START-END,...]
 * Profiles come from `node bench/run.ts --cpu-prof DIR` (or `node --cpu-prof` on the CLI).
 */
import { readFileSync } from 'node:fs'
import { parseArgs } from 'node:util'

interface Node { id: number, callFrame: { functionName: string, url: string, lineNumber: number }, children?: number[] }
interface Profile { nodes: Node[], samples: number[], timeDeltas: number[], startTime: number }

/** Stage -> frames that belong to it (function name, optionally `@file` substring). Order = priority for ties. */
const STAGES: Array<[string, RegExp]> = [
  ['close', /^(close|_destroy|destroy|onPeerClosed|_onFinish|_onClose|emitCloseNT|_predestroy)@(peer-connection|metadata-peer|streamx|bittorrent-protocol|net)|^close@/],
  ['serving (ut_metadata)', /^(onMetadataRequest|serve|sendPiece|sendReject|onMessage)@(peer-connection|ut-metadata-server)|^info@torrent-store|^(get|set)@byte-lru/],
  ['extended handshake', /^(_sendExtendedHandshake|_onExtendedHandshake|onExtendedHandshake)@/],
  ['handshake routing', /^(onHandshake|sendHandshake|tellNoPieces|_onHandshake|_onHandshakeBuffer|get|resolveObfuscated)@(peer-connection|torrent-store|bittorrent-protocol)|^onHandshake@/],
  ['Wire construction', /^(Wire|GuardedWire|PeerConnection|bind|use|attach|UtMetadataServer|handleConnection)@|^(Wire|_resetStats|speedometer|BitField)@/],
  ['logging', /@(log|serve)\.ts$|^(metadata-served|emit)@log/],
  ['accept (net.Socket)', /^(onconnection|Socket|_handle|onConnection|accept)@(net|tcp)|@(tcp)\.ts$/],
  ['Wire parsing', /^(_write|_onMessage|_onMessageLength|_parse|_onExtended|_onUninterested|_onHaveNone|_onPort|_onKeepAlive|_onBitField)@(bittorrent-protocol|wire)/],
  ['socket I/O (streams)', /@(streamx|stream|_stream_|readable|writable|duplex)|^(onStreamRead|writeGeneric|writevGeneric|_writeGeneric|_writev|handleWriteReq)@/]
]

function frameKey (n: Node): string {
  const file = n.callFrame.url.split('/').pop() ?? ''
  const base = file.replace(/\.(ts|js|mjs|cjs)$/, '')
  // bittorrent-protocol's entry file is index.js in its package directory.
  const pkg = /node_modules\/([^/]+)\//.exec(n.callFrame.url)?.[1]
  return `${n.callFrame.functionName}@${pkg && base === 'index' ? pkg : base}`
}

/**
 * @param between only samples inside these [start, end] spans (CLOCK_MONOTONIC microseconds,
 *   the profile's clock: bench/exchange-bench.ts records each measured window as `windowUs`),
 *   so start-up, loading and warm-up do not count.
 */
export function stages (profile: Profile, between?: Array<[number, number]>): { total: number, byStage: Map<string, number>, topSelf: Array<[string, number]> } {
  const parent = new Map<number, number>()
  const byId = new Map<number, Node>()
  for (const n of profile.nodes) {
    byId.set(n.id, n)
    for (const c of n.children ?? []) parent.set(c, n.id)
  }
  const stageOf = new Map<number, string>()
  const resolve = (id: number): string => {
    const known = stageOf.get(id)
    if (known) return known
    const n = byId.get(id)!
    const name = n.callFrame.functionName
    let stage: string | undefined
    const key = frameKey(n)
    for (const [s, re] of STAGES) if (re.test(key)) { stage = s; break }
    if (!stage) {
      const up = parent.get(id)
      if (name === '(garbage collector)') stage = 'GC'
      else if (name === '(program)' || name === '(idle)' || name === '(root)') stage = name
      else stage = up === undefined ? 'other JS' : resolve(up)
      if (stage === '(root)') stage = 'other JS'
    }
    stageOf.set(id, stage)
    return stage
  }
  const byStage = new Map<string, number>()
  const self = new Map<string, number>()
  let total = 0
  let t = profile.startTime
  for (let i = 0; i < profile.samples.length; i++) {
    const dt = profile.timeDeltas[i] ?? 0
    t += dt
    if (between && !between.some(([a, b]) => t >= a && t <= b)) continue
    const id = profile.samples[i]
    const s = resolve(id)
    if (s === '(idle)') continue
    total += dt
    byStage.set(s, (byStage.get(s) ?? 0) + dt)
    const k = frameKey(byId.get(id)!)
    self.set(k, (self.get(k) ?? 0) + dt)
  }
  return { total, byStage, topSelf: [...self].sort((a, b) => b[1] - a[1]) }
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { top: { type: 'string', default: '25' }, between: { type: 'string' } } })
  // --between a-b,c-d: the measured windows (microseconds), as printed by bench/exchange-ab.ts.
  const between = values.between?.split(',').map(s => s.split('-').map(Number) as [number, number])
  for (const file of positionals) {
    const { total, byStage, topSelf } = stages(JSON.parse(readFileSync(file, 'utf8')) as Profile, between)
    console.log(`${file}: ${(total / 1000).toFixed(0)} ms busy`)
    for (const [s, t] of [...byStage].sort((a, b) => b[1] - a[1])) console.log(`  ${(100 * t / total).toFixed(1).padStart(5)}%  ${s}`)
    console.log('  top self time:')
    for (const [k, t] of topSelf.slice(0, Number(values.top))) console.log(`  ${(100 * t / total).toFixed(1).padStart(5)}%  ${k}`)
  }
}
