/**
 * What one refused TCP connection costs the refusing process, by the way it is refused: CPU
 * (user + system, `process.cpuUsage`) of a server that refuses every connection, divided by
 * the connections it refused. The clients run in this process, the server in a child of its
 * own, so the figure is the server's alone (with the kernel's loopback work that lands in its
 * context). Connections come from many 127.x addresses (`sources.ts`), as in the floods.
 *
 *   node bench/hostile/refusal-cost.ts [--count 20000] [--concurrency 64] [--rounds 3] [--modes socket,handle] [--server-cpu 1]
 *
 * `--server-cpu N` runs the server on core N alone (taskset), as the hostile bench pins its peer;
 * run the clients on another (`taskset -c 0 node ...`).
 *
 * Modes: `socket` (Node builds a net.Socket, 'connection' destroys it: the path without the
 * accept gate) and `handle` (refused at the accepted handle by the accept gate, before a
 * socket exists). Closing with a reset instead (SO_LINGER 0) was measured and is not cheaper.
 */
import net from 'node:net'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { parseArgs } from 'node:util'
import { gateAccepts } from '../../src/transport/tcp-accept-gate.ts'
import { sourceAddress } from './sources.ts'

const MODES = ['socket', 'handle'] as const
type Mode = typeof MODES[number]

interface ServerReady { port: number, gated: boolean }
interface ServerCost { refused: number, cpuUs: number, wallMs: number }

async function serve (mode: Mode): Promise<void> {
  const server = net.createServer()
  server.maxConnections = Number.MAX_SAFE_INTEGER
  server.listen({ port: 0, host: '127.0.0.1', backlog: 4096 })
  await once(server, 'listening')
  let refused = 0
  let gated = true
  if (mode === 'handle') {
    gated = gateAccepts(server, () => { refused++; return true })
  } else {
    server.on('connection', s => { refused++; s.destroy() })
  }
  let start = process.cpuUsage()
  let startWall = performance.now()
  let startRefused = 0
  process.on('message', (m: string) => {
    if (m === 'start') {
      start = process.cpuUsage(); startWall = performance.now(); startRefused = refused
      process.send!('started')
    } else if (m === 'stop') {
      const d = process.cpuUsage(start)
      const cost: ServerCost = { refused: refused - startRefused, cpuUs: d.user + d.system, wallMs: performance.now() - startWall }
      process.send!(cost)
    } else if (m === 'exit') {
      server.close(); process.disconnect?.()
    }
  })
  process.send!({ port: (server.address() as net.AddressInfo).port, gated } satisfies ServerReady)
}

/** Opens `count` connections, `concurrency` at a time, each from the next flood address; resolves when all closed. */
function churn (port: number, count: number, concurrency: number, offset: number): Promise<number> {
  return new Promise(resolve => {
    let started = 0
    let closed = 0
    const next = (): void => {
      if (started >= count) return
      const k = offset + started++
      const s = net.connect({ port, host: '127.0.0.1', localAddress: sourceAddress(k % 1000) })
      s.on('error', () => {})
      s.on('close', () => { if (++closed === count) resolve(closed); else next() })
    }
    for (let i = 0; i < Math.min(concurrency, count); i++) next()
  })
}

async function ask<T> (child: ChildProcess, message: string): Promise<T> {
  const reply = once(child, 'message')
  child.send(message)
  return (await reply)[0] as T
}

async function measure (mode: Mode, count: number, concurrency: number, cpu: string | undefined): Promise<ServerCost & { gated: boolean }> {
  const args = [new URL(import.meta.url).pathname, '--serve', mode]
  const stdio: ['inherit', 'inherit', 'inherit', 'ipc'] = ['inherit', 'inherit', 'inherit', 'ipc']
  const child = cpu === undefined ? spawn(process.execPath, args, { stdio }) : spawn('taskset', ['-c', cpu, process.execPath, ...args], { stdio })
  const [ready] = await once(child, 'message') as [ServerReady]
  await churn(ready.port, 2000, concurrency, 0) // warm-up: JIT, the kernel's port ranges
  await ask(child, 'start')
  await churn(ready.port, count, concurrency, 2000)
  const cost = await ask<ServerCost>(child, 'stop')
  child.send('exit')
  await once(child, 'exit')
  return { ...cost, gated: ready.gated }
}

const { values } = parseArgs({
  options: {
    serve: { type: 'string' },
    count: { type: 'string', default: '20000' },
    concurrency: { type: 'string', default: '64' },
    rounds: { type: 'string', default: '3' },
    modes: { type: 'string', default: MODES.join(',') },
    'server-cpu': { type: 'string' }
  }
})

if (values.serve) {
  await serve(values.serve as Mode)
} else {
  const modes = values.modes.split(',') as Mode[]
  const count = Number(values.count)
  const concurrency = Number(values.concurrency)
  const results = new Map<Mode, number[]>(modes.map(m => [m, []]))
  // Modes alternate within each round, so a change in the machine's load hits all of them.
  for (let round = 0; round < Number(values.rounds); round++) {
    for (const mode of modes) {
      const r = await measure(mode, count, concurrency, values['server-cpu'])
      const us = r.cpuUs / r.refused
      results.get(mode)!.push(us)
      console.log(`round ${round + 1} ${mode.padEnd(12)} refused ${r.refused} (gate ${r.gated ? 'on' : 'off'}) CPU ${(r.cpuUs / 1000).toFixed(0)} ms in ${r.wallMs.toFixed(0)} ms: ${us.toFixed(1)} us per refusal`)
    }
  }
  for (const [mode, us] of results) {
    const sorted = [...us].sort((a, b) => a - b)
    console.log(`${mode.padEnd(12)} median ${sorted[Math.floor(sorted.length / 2)].toFixed(1)} us per refusal (${sorted.map(x => x.toFixed(1)).join(', ')})`)
  }
}
