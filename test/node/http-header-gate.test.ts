/**
 * The HTTP face's header gate (src/http/header-gate.ts), through the service on loopback with
 * real sockets from many 127.0.0.0/8 addresses: ordinary requests (in one packet, dribbled a
 * byte at a time, pipelined, kept alive, a POST body after the headers) are answered as
 * without it; a connection that never finishes its headers is closed at its deadline (shorter
 * under pressure), evicted when the gate is full, refused past the per-address and per-network
 * caps; an oversized header block gets node:http's 431; what node:http holds afterwards is capped
 * per address and in all (idle keep-alive connections make room), and a connection on which
 * nothing moves is closed. Time is a manual clock; tests wait on
 * the gate's own events and on sockets' events.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import net from 'node:net'
import { once } from 'node:events'
import { createTorrentFish, type TorrentFish } from '../../src/node/torrent-fish.ts'
import type { HeaderGateEvent, HeaderGateOptions } from '../../src/http/header-gate.ts'
import { ManualClock } from '../fixtures/clock.ts'
import { makeTorrent } from '../fixtures/torrents.ts'

const TOKEN = 'header-gate-token'

interface Face { fish: TorrentFish, port: number, clock: ManualClock, next (event: HeaderGateEvent, count?: number): Promise<void> }

/** A service with the HTTP face; `next(e, n)` resolves once the gate has told `e` n more times. */
async function face (t: { after (fn: () => unknown): void }, gate: Partial<HeaderGateOptions> | false = {}, http: { idleTimeoutMs?: number } = {}): Promise<Face> {
  const clock = new ManualClock()
  const seen = new Map<HeaderGateEvent, number>()
  const waiters: Array<{ event: HeaderGateEvent, at: number, resolve: () => void }> = []
  const observe = (event: HeaderGateEvent): void => {
    const n = (seen.get(event) ?? 0) + 1
    seen.set(event, n)
    for (const w of [...waiters]) if (w.event === event && n >= w.at) { waiters.splice(waiters.indexOf(w), 1); w.resolve() }
  }
  const headerGate = gate === false ? false : { clock, observe, ...gate }
  const fish = await createTorrentFish({ port: 0, listenInterface: '127.0.0.1', http: { port: 0, host: '127.0.0.1', token: TOKEN, headerGate, ...http } })
  t.after(() => fish.close())
  const next = (event: HeaderGateEvent, count = 1): Promise<void> => new Promise(resolve => {
    const at = (seen.get(event) ?? 0) + count
    waiters.push({ event, at, resolve })
  })
  return { fish, port: Number(new URL(fish.http!.url).port), clock, next }
}

interface Client { socket: net.Socket, text (): string, closed: Promise<void> }

async function connect (port: number, from = '127.0.0.1'): Promise<Client> {
  const socket = net.connect({ port, host: '127.0.0.1', localAddress: from })
  let text = ''
  socket.on('data', (d: Buffer) => { text += d.toString('latin1') })
  socket.on('error', () => {})
  const closed = new Promise<void>(resolve => socket.once('close', () => resolve()))
  await once(socket, 'connect')
  return { socket, text: () => text, closed }
}

/** Reads until `n` complete responses (status line to end of body by Content-Length) are in. */
async function responses (c: Client, n: number): Promise<number[]> {
  const parse = (): number[] | null => {
    const out: number[] = []
    let rest = c.text()
    while (out.length < n) {
      const end = rest.indexOf('\r\n\r\n')
      if (end < 0) return null
      const head = rest.slice(0, end)
      const length = Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0)
      if (rest.length < end + 4 + length) return null
      out.push(Number(head.slice(9, 12)))
      rest = rest.slice(end + 4 + length)
    }
    return out
  }
  for (;;) {
    const got = parse()
    if (got) return got
    await Promise.race([once(c.socket, 'data'), c.closed.then(() => { throw new Error(`closed after ${JSON.stringify(c.text().slice(0, 200))}`) })])
  }
}

const GET = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: x\r\n${extra}\r\n`

/** A GET from `from` while node:http is at its cap: closed by the gate, unanswered. */
async function refusedAtCap (f: Face, from: string): Promise<void> {
  const refused = f.next('served-full')
  const c = await connect(f.port, from)
  c.socket.write(GET('/health'))
  await refused
  await c.closed
  assert.equal(c.text(), '', `${from} was answered`)
}

test('header gate: ordinary requests are answered as by node:http', async t => {
  const f = await face(t)
  // In one packet.
  const one = await connect(f.port)
  one.socket.write(GET('/health'))
  assert.deepEqual(await responses(one, 1), [200])
  // Kept alive: the next request on the same connection goes straight to node:http.
  one.socket.write(GET('/nope'))
  assert.deepEqual(await responses(one, 2), [200, 404])
  one.socket.destroy()

  // Dribbled: a byte per write with Nagle off (the gate reads them in as many reads as the
  // kernel makes of them), the last one written once the rest is in flight.
  const pending = f.next('pending')
  const slow = await connect(f.port)
  slow.socket.setNoDelay(true)
  const request = GET('/health', 'Connection: close\r\n')
  slow.socket.write(request.slice(0, 1))
  await pending
  for (let i = 1; i < request.length - 1; i++) slow.socket.write(request[i])
  const handed = f.next('handed-over')
  slow.socket.write(request.slice(-1))
  await handed
  assert.deepEqual(await responses(slow, 1), [200])
  await slow.closed

  // Pipelined: two requests in one write, both answered in order.
  const piped = await connect(f.port)
  piped.socket.write(GET('/health') + GET('/nope', 'Connection: close\r\n'))
  assert.deepEqual(await responses(piped, 2), [200, 404])

  // A POST whose body follows the headers in later writes (the admin route reads it whole).
  const torrent = await makeTorrent({ name: 'gate', content: new Uint8Array(40_000).fill(3) })
  const post = await connect(f.port)
  post.socket.write(`POST /torrents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/x-bittorrent\r\nContent-Length: ${torrent.torrentBytes.length}\r\nConnection: close\r\n\r\n`)
  post.socket.write(torrent.torrentBytes.subarray(0, 100))
  post.socket.write(torrent.torrentBytes.subarray(100))
  const [status] = await responses(post, 1)
  assert.ok(status === 200 || status === 201, `POST answered ${status}: ${post.text().slice(0, 300)}`)
  assert.ok(f.fish.getTorrent(torrent.infoHash) !== undefined, 'the POSTed torrent is served')

  const gate = f.fish.http!.headerGate!
  assert.equal(gate.pending, 0)
  assert.ok(gate.handedOver >= 4, `handed over ${gate.handedOver}`)
})

test('header gate: unfinished headers are closed at the deadline, sooner under pressure', async t => {
  const f = await face(t, { maxPending: 8, headersTimeoutMs: 10_000, pressuredTimeoutMs: 2_000 })
  const taken = f.next('pending')
  const c = await connect(f.port, '127.0.1.1')
  c.socket.write('GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a')
  await taken
  await f.clock.advance(9_000)
  assert.equal(f.fish.http!.headerGate!.pending, 1, 'still waiting before its deadline')
  const timedOut = f.next('headers-timeout')
  await f.clock.advance(1_000)
  await timedOut
  await c.closed
  assert.equal(c.text(), '', 'nothing was sent to a connection that never finished its headers')

  // Five of eight taken (more than half): each gets the pressured deadline.
  const five = f.next('pending', 5)
  const many = await Promise.all([1, 2, 3, 4, 5].map(i => connect(f.port, `127.0.2.${i}`)))
  for (const m of many) m.socket.write('GET / HTTP/1.1\r\n')
  await five
  const allOut = f.next('headers-timeout', 5)
  await f.clock.advance(2_000)
  await allOut
  await Promise.all(many.map(m => m.closed))
  assert.equal(f.fish.http!.headerGate!.closes.get('headers-timeout'), 6)

  const metrics = await connect(f.port)
  metrics.socket.write(GET('/metrics', 'Connection: close\r\n'))
  await metrics.closed
  assert.match(metrics.text(), /torrent_fish_http_connection_closes_total\{reason="headers-timeout"\} 6/)
  assert.match(metrics.text(), /torrent_fish_http_connections_pending 0/)
})

test('header gate: when full, a newcomer evicts the oldest unfinished connection', async t => {
  const f = await face(t, { maxPending: 4 })
  const four = f.next('pending', 4)
  const idle = await Promise.all([1, 2, 3, 4].map(i => connect(f.port, `127.0.3.${i}`)))
  for (const c of idle) c.socket.write('GET')
  await four
  const evicted = f.next('evicted')
  const late = await connect(f.port, '127.0.4.1')
  await evicted
  await idle[0].closed
  late.socket.write(GET('/health', 'Connection: close\r\n'))
  assert.deepEqual(await responses(late, 1), [200])
  assert.equal(f.fish.http!.headerGate!.pending, 3, 'the other three still wait')
})

test('header gate: past the byte budget the oldest unfinished connections are closed', async t => {
  const f = await face(t, { maxBufferedBytes: 1_000 })
  const two = f.next('pending', 2)
  const older = await connect(f.port, '127.0.7.1')
  const newer = await connect(f.port, '127.0.7.2')
  await two
  const overBudget = f.next('over-budget')
  older.socket.write('GET / HTTP/1.1\r\nX-Pad: ' + 'a'.repeat(600))
  newer.socket.write('GET / HTTP/1.1\r\nX-Pad: ' + 'b'.repeat(600))
  await overBudget
  await older.closed
  assert.equal(f.fish.http!.headerGate!.pending, 1)
  // The newer one still finishes its request.
  newer.socket.write('\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.deepEqual(await responses(newer, 1), [200])
})

test('header gate: per-address and per-network caps refuse at accept', async t => {
  const f = await face(t, { perAddress: 2, perNetwork: 3 })
  const two = f.next('pending', 2)
  const a = await Promise.all([connect(f.port, '127.0.5.1'), connect(f.port, '127.0.5.1')])
  await two
  const refusedAddress = f.next('refused-address')
  const third = await connect(f.port, '127.0.5.1')
  await refusedAddress
  await third.closed
  const one = f.next('pending')
  const b = await connect(f.port, '127.0.5.2')
  await one
  const refusedNetwork = f.next('refused-network')
  const fourth = await connect(f.port, '127.0.5.3')
  await refusedNetwork
  await fourth.closed
  // Another network is not affected, and a finished request frees its place.
  const other = await connect(f.port, '127.0.6.1')
  other.socket.write(GET('/health', 'Connection: close\r\n'))
  assert.deepEqual(await responses(other, 1), [200])
  a[0].socket.write('GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.deepEqual(await responses(a[0], 1), [200])
  const again = await connect(f.port, '127.0.5.1')
  again.socket.write(GET('/health', 'Connection: close\r\n'))
  assert.deepEqual(await responses(again, 1), [200])
  b.socket.destroy()
  a[1].socket.destroy()
})

test('header gate: an oversized header block gets 431; a client that leaves is forgotten', async t => {
  const f = await face(t)
  const big = await connect(f.port)
  big.socket.write(`GET / HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(20_000)}\r\n\r\n`)
  await big.closed
  assert.match(big.text(), /^HTTP\/1\.1 431 /)

  const gone = f.next('closed-before-headers')
  const leaver = await connect(f.port)
  leaver.socket.end('GET / HTT')
  await gone
  assert.equal(f.fish.http!.headerGate!.pending, 0)
})

test('header gate: the face closes with connections still waiting, and can be turned off', async t => {
  const f = await face(t)
  const taken = f.next('pending')
  const c = await connect(f.port)
  c.socket.write('GET / HTTP/1.1\r\n')
  await taken
  await f.fish.close()
  await c.closed

  const off = await face(t, false)
  assert.equal(off.fish.http!.headerGate, null)
  const d = await connect(off.port)
  d.socket.write(GET('/health', 'Connection: close\r\n'))
  assert.deepEqual(await responses(d, 1), [200])
})

test('header gate: connections node:http holds are capped per address, at accept and at hand-over', async t => {
  const f = await face(t, { servedPerAddress: 2 })
  const gate = f.fish.http!.headerGate!
  const kept = await Promise.all([connect(f.port, '127.0.8.1'), connect(f.port, '127.0.8.1')])
  for (const c of kept) c.socket.write(GET('/health'))
  for (const c of kept) assert.deepEqual(await responses(c, 1), [200])
  assert.equal(gate.served, 2, 'both kept alive in node:http')
  // A third from the same address: refused at accept, nothing sent to it.
  const refused = f.next('served-address')
  const third = await connect(f.port, '127.0.8.1')
  await refused
  await third.closed
  assert.equal(third.text(), '')
  // Another address is served.
  const other = await connect(f.port, '127.0.8.2')
  other.socket.write(GET('/health', 'Connection: close\r\n'))
  assert.deepEqual(await responses(other, 1), [200])
  // One leaves: its place is free again. One waits in the gate while the other place is
  // taken, and is refused when its headers are in.
  const left = f.next('served-closed')
  kept[0].socket.destroy()
  await left
  const pending = f.next('pending')
  const waiting = await connect(f.port, '127.0.8.1')
  waiting.socket.write('GET /health HTTP/1.1\r\n')
  await pending
  const taker = await connect(f.port, '127.0.8.1')
  taker.socket.write(GET('/health'))
  assert.deepEqual(await responses(taker, 1), [200])
  const atHandOver = f.next('served-address')
  waiting.socket.write('Host: x\r\n\r\n')
  await atHandOver
  await waiting.closed
  assert.equal(waiting.text(), '', 'refused at hand-over: node:http never saw it')
  assert.equal(gate.closes.get('served-address'), 2)
  kept[1].socket.destroy()
  taker.socket.destroy()
})

test('header gate: at the served cap a newcomer from a new network takes the longest-idle spare place of another', async t => {
  const f = await face(t, { maxServed: 2 })
  const gate = f.fish.http!.headerGate!
  // Two idle keep-alive connections of one network; a newcomer from another closes the older.
  const idle = [await connect(f.port, '127.0.31.1'), await connect(f.port, '127.0.31.2')]
  for (const c of idle) { c.socket.write(GET('/health')); assert.deepEqual(await responses(c, 1), [200]) }
  const newcomer = await connect(f.port, '127.0.33.1')
  newcomer.socket.write(GET('/health'))
  assert.deepEqual(await responses(newcomer, 1), [200])
  await idle[0].closed
  assert.equal(gate.served, 2)
  assert.equal(idle[1].socket.destroyed, false, 'only the longest idle one was closed')
  // Now every network holds one: a newcomer from a network already there is closed, and one
  // from a new network too (no network holds two more than it), both unanswered.
  for (const from of ['127.0.33.2', '127.0.38.1']) await refusedAtCap(f, from)

  // Both busy (POSTs whose bodies are still coming, so no reply yet), from one network: even
  // a new network is closed.
  const gone = f.next('served-closed', 2)
  idle[1].socket.destroy()
  newcomer.socket.destroy()
  await gone
  const torrents = await Promise.all([1, 2].map(i => makeTorrent({ name: `busy-${i}`, content: new Uint8Array(30_000).fill(i) })))
  const busy = [await connect(f.port, '127.0.34.1'), await connect(f.port, '127.0.34.2')]
  const handed = f.next('handed-over', 2)
  for (const [i, c] of busy.entries()) {
    c.socket.write(`POST /torrents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/x-bittorrent\r\nContent-Length: ${torrents[i].torrentBytes.length}\r\n\r\n`)
    c.socket.write(torrents[i].torrentBytes.subarray(0, 10))
  }
  await handed
  await refusedAtCap(f, '127.0.36.1')
  // One's body ends, it is answered and idle: a newcomer from a new network takes its place.
  busy[0].socket.write(torrents[0].torrentBytes.subarray(10))
  const [status] = await responses(busy[0], 1)
  assert.ok(status === 200 || status === 201, `POST answered ${status}`)
  const next = await connect(f.port, '127.0.37.1')
  next.socket.write(GET('/health', 'Connection: close\r\n'))
  assert.deepEqual(await responses(next, 1), [200])
  await busy[0].closed
  busy[1].socket.destroy()
})

test('http: a request on which nothing moves is closed after idleTimeoutMs', async t => {
  // (Once a reply is out, node:http's keep-alive timeout governs the connection instead.)
  const f = await face(t, {}, { idleTimeoutMs: 300 })
  const stalled = await connect(f.port, '127.0.10.1')
  const closedHere = f.next('served-closed')
  stalled.socket.write(`POST /torrents HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\nContent-Type: application/x-bittorrent\r\nContent-Length: 1000\r\n\r\n`)
  stalled.socket.write('d8:announce')
  const t0 = performance.now()
  await stalled.closed // by the server: this client never closes it
  await closedHere
  assert.ok(performance.now() - t0 >= 250, 'not before the timeout')
  assert.equal(stalled.text(), '', 'a body that stopped coming gets no answer')
  assert.equal(f.fish.http!.headerGate!.served, 0)
})

test('header gate: at the served cap places move from the network holding most until two networks are even', async t => {
  const f = await face(t, { maxServed: 3 })
  const gate = f.fish.http!.headerGate!
  const a = [await connect(f.port, '127.0.51.1'), await connect(f.port, '127.0.51.2'), await connect(f.port, '127.0.51.3')]
  for (const c of a) { c.socket.write(GET('/health')); assert.deepEqual(await responses(c, 1), [200]) }
  // B holds 0, A 3: B's newcomer takes A's longest-idle place (A 2, B 1).
  const b1 = await connect(f.port, '127.0.52.1')
  b1.socket.write(GET('/health'))
  assert.deepEqual(await responses(b1, 1), [200])
  await a[0].closed
  // B holds 1, A 2: not two apart, so B's next newcomer is closed and A keeps both.
  await refusedAtCap(f, '127.0.52.2')
  assert.equal(gate.served, 3)
  assert.equal(a[1].socket.destroyed || a[2].socket.destroyed, false)
})

test('header gate: past handOversPerTurn finished header blocks wait for the next turns, and are all answered', async t => {
  const f = await face(t, { handOversPerTurn: 2 })
  const gate = f.fish.http!.headerGate!
  const taken = f.next('pending', 6)
  const clients = await Promise.all([1, 2, 3, 4, 5, 6].map(i => connect(f.port, `127.0.61.${i}`)))
  for (const c of clients) c.socket.write('G')
  await taken
  // One synchronous loop: on loopback each write is in the server's receive queue when it
  // returns, so the server reads all six in one turn.
  for (const c of clients) c.socket.write(GET('/health', 'Connection: close\r\n').slice(1))
  for (const c of clients) assert.deepEqual(await responses(c, 1), [200])
  t.diagnostic(`deferred ${gate.deferred} of ${gate.handedOver}`)
  assert.ok(gate.deferred >= 1, 'some hand-overs went to a later turn')
  assert.equal(gate.pending, 0)
})
