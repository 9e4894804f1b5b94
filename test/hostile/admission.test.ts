// The admission policy alone, with an injected clock: who is evicted at the limit, the
// half-open caps per IP and per subnet, the uTP share, shortened deadlines, the MSE budget.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { Admission, type Admittable } from '../../src/core/admission.ts'
import { ADMISSION_DEFAULTS, type AdmissionOptions } from '../../src/core/admission-options.ts'
import { subnetOf } from '../../src/core/admission-address.ts'
import { OperationBudget } from '../../src/core/admission-budget.ts'

class Conn implements Admittable {
  readonly info: { transport: string, remoteAddress?: string }
  closed?: { reason: string }
  readonly createdAt: number
  lastActivity: number
  isHandshaken = false
  isBusy = false
  readonly name: string
  constructor (name: string, address: string | undefined, at: number, transport = 'tcp') {
    this.name = name
    this.info = { transport, remoteAddress: address }
    this.createdAt = at
    this.lastActivity = at
  }
}

function setup (options: Partial<AdmissionOptions> = {}): { a: Admission<Conn>, clock: { t: number }, enter: (c: Conn) => Conn[] | string } {
  const clock = { t: 1000 }
  const a = new Admission<Conn>({ ...ADMISSION_DEFAULTS, connectionLimit: 4, perIpLimit: 100, handshakeTimeoutMs: 10_000, ...options }, () => clock.t)
  // What MetadataPeer does: evict the victims, then add the newcomer.
  const enter = (c: Conn): Conn[] | string => {
    const v = a.admit(c)
    if (!v.admit) return v.reason
    for (const victim of v.evict) a.remove(victim)
    a.add(c)
    return v.evict
  }
  return { a, clock, enter }
}

test('subnets: IPv4 /24, IPv6 /64, v4-mapped as IPv4', () => {
  assert.equal(subnetOf('127.3.4.5'), '127.3.4/24')
  assert.equal(subnetOf('::ffff:10.1.2.3'), '10.1.2/24')
  assert.equal(subnetOf('2001:db8:0:1::7'), '2001:db8:0:1::/64')
  assert.equal(subnetOf('2001:0db8:0000:0001:ffff:0:0:1'), '2001:db8:0:1::/64')
  assert.equal(subnetOf('::1'), '0:0:0:0::/64')
  assert.equal(subnetOf('not-an-ip'), 'not-an-ip')
})

test('at the limit a newcomer evicts the oldest half-open connection instead of being refused', () => {
  const { a, clock, enter } = setup()
  const conns = [0, 1, 2, 3].map(i => new Conn(`c${i}`, `10.0.${i}.1`, clock.t++))
  for (const c of conns) assert.deepEqual(enter(c), [])
  conns[0].isHandshaken = true; a.handshaken(conns[0]); a.asked(conns[0])
  const fresh = new Conn('new', '10.9.9.9', clock.t++)
  assert.deepEqual(enter(fresh).map?.((c: Conn) => c.name), ['c1'], 'the oldest still handshaking goes, not the handshaken one')
  assert.equal(a.size, 4)
})

test('of half-open connections and handshaken ones that never asked, the one stalled longest makes room', () => {
  const { a, clock, enter } = setup()
  const silent = new Conn('silent', '10.0.0.1', clock.t)
  enter(silent)
  clock.t += 10
  const asking = new Conn('asking', '10.0.1.1', clock.t)
  enter(asking); asking.isHandshaken = true; a.handshaken(asking); a.asked(asking)
  const quiet = new Conn('quiet', '10.0.2.1', clock.t)
  enter(quiet)
  clock.t += 5
  quiet.isHandshaken = true; a.handshaken(quiet) // handshook 15 ms after the silent one connected
  clock.t += 5
  const fresh = new Conn('fresh', '10.0.3.1', clock.t)
  enter(fresh)
  clock.t += 10
  // `silent` has said nothing since it connected, longest of all.
  assert.deepEqual((enter(new Conn('n1', '10.1.0.1', clock.t)) as Conn[]).map(c => c.name), ['silent'])
  // `quiet` handshook before `fresh` connected and asked nothing since: it goes before `fresh`.
  assert.deepEqual((enter(new Conn('n2', '10.1.1.1', clock.t)) as Conn[]).map(c => c.name), ['quiet'])
  // Then the oldest half-open; never the one that asked.
  assert.deepEqual((enter(new Conn('n3', '10.1.2.1', clock.t)) as Conn[]).map(c => c.name), ['fresh'])
  assert.ok([...a.connections()].includes(asking))
})

test('while more connections are half-open than one batch of newcomers, the oldest of them goes before any handshaken one', () => {
  const { a, clock, enter } = setup({ connectionLimit: 40 })
  const leecher = new Conn('leecher', '10.0.0.1', clock.t)
  enter(leecher); leecher.isHandshaken = true; a.handshaken(leecher) // about to ask
  clock.t += 1
  for (let i = 0; i < 39; i++) enter(new Conn(`s${i}`, `10.2.${i}.1`, clock.t++)) // a silent churn, all younger
  assert.ok(a.halfOpenCount > a.newcomerBatch)
  assert.deepEqual((enter(new Conn('n', '10.1.0.1', clock.t)) as Conn[]).map(c => c.name), ['s0'])
})

test('a connection served everything it asked for may make room again; a busy one never', () => {
  const { a, clock, enter } = setup({ connectionLimit: 2 })
  const done = new Conn('done', '10.0.0.1', clock.t++)
  const busy = new Conn('busy', '10.0.1.1', clock.t++)
  for (const c of [done, busy]) { enter(c); c.isHandshaken = true; a.handshaken(c); a.asked(c) }
  busy.isBusy = true
  assert.equal(enter(new Conn('early', '10.1.0.1', clock.t)), 'connection-limit', 'both asked and are recent: nobody to evict')
  a.satisfied(done)
  assert.equal(a.kindOf(done), 'unproductive')
  assert.deepEqual((enter(new Conn('late', '10.1.1.1', clock.t)) as Conn[]).map(c => c.name), ['done'])
  // A uTP newcomer may not displace a handshaken TCP leecher that has not asked yet.
  const utp = setup({ connectionLimit: 1 })
  const tcp = new Conn('tcp', '10.0.0.1', utp.clock.t)
  utp.enter(tcp); tcp.isHandshaken = true; utp.a.handshaken(tcp)
  assert.equal(utp.enter(new Conn('syn', '192.0.0.1', utp.clock.t, 'utp')), 'connection-limit')
})

test('with nobody half-open, the connection idle longest with nothing outstanding goes; busy or recent ones stay', () => {
  const { a, clock, enter } = setup({ evictIdleAfterMs: 1000 })
  const conns = [0, 1, 2, 3].map(i => new Conn(`c${i}`, `10.0.${i}.1`, clock.t))
  for (const c of conns) { enter(c); c.isHandshaken = true; a.handshaken(c); a.asked(c) }
  conns[0].isBusy = true
  conns[0].lastActivity = 0
  conns[2].lastActivity = clock.t - 200
  clock.t += 500
  // Everyone active within the last second: refused with a reason.
  assert.equal(enter(new Conn('early', '10.9.9.9', clock.t)), 'connection-limit')
  clock.t += 1000
  const evicted = enter(new Conn('late', '10.9.9.8', clock.t)) as Conn[]
  assert.deepEqual(evicted.map(c => c.name), ['c2'], 'idle longest (c0 is older but busy)')
})

test('half-open caps per IP and per /24: the oldest of that group makes room', () => {
  const { a, clock, enter } = setup({ connectionLimit: 100, halfOpenPerIp: 2, halfOpenPerSubnet: 3 })
  enter(new Conn('a1', '10.1.1.1', clock.t++))
  enter(new Conn('a2', '10.1.1.1', clock.t++))
  assert.deepEqual((enter(new Conn('a3', '10.1.1.1', clock.t++)) as Conn[]).map(c => c.name), ['a1'], 'per IP')
  assert.deepEqual(enter(new Conn('b1', '10.1.1.2', clock.t++)), [])
  assert.deepEqual((enter(new Conn('b2', '10.1.1.3', clock.t++)) as Conn[]).map(c => c.name), ['a2'], 'per /24')
  assert.deepEqual(enter(new Conn('other', '10.1.2.1', clock.t++)), [], 'another /24 is not affected')
  assert.equal(a.halfOpenCount, 4)
})

test('per-IP limit: a newcomer from a full IP displaces that IP\'s half-open, else is refused', () => {
  const { a, clock, enter } = setup({ connectionLimit: 100, perIpLimit: 2 })
  const c1 = new Conn('c1', '10.0.0.1', clock.t++)
  const c2 = new Conn('c2', '10.0.0.1', clock.t++)
  enter(c1); enter(c2)
  c1.isHandshaken = true; a.handshaken(c1)
  assert.deepEqual((enter(new Conn('c3', '10.0.0.1', clock.t++)) as Conn[]).map(c => c.name), ['c2'])
  const c3 = [...a.connections()].find(c => c.name === 'c3')!
  c3.isHandshaken = true; a.handshaken(c3)
  assert.equal(enter(new Conn('c4', '10.0.0.1', clock.t++)), 'per-ip-limit')
})

test('uTP half-open hold at most their share and are evicted before any TCP connection', () => {
  const { a, clock, enter } = setup({ connectionLimit: 8, utpHalfOpenShare: 0.25 })
  const tcp = [0, 1, 2, 3, 4, 5].map(i => new Conn(`t${i}`, `10.0.${i}.1`, clock.t++))
  for (const c of tcp) enter(c)
  // A SYN flood: 50 spoofed SYNs from 50 networks.
  for (let i = 0; i < 50; i++) {
    const r = enter(new Conn(`u${i}`, `192.0.${i}.1`, clock.t++, 'utp'))
    assert.ok(Array.isArray(r), 'uTP newcomers are admitted (displacing older SYNs)')
    for (const victim of r) assert.equal(victim.info.transport, 'utp', 'a SYN never displaces TCP')
  }
  assert.equal([...a.connections()].filter(c => c.info.transport === 'tcp').length, 6, 'every TCP connection is still there')
  assert.equal([...a.connections()].filter(c => c.info.transport === 'utp').length, 2, 'uTP half-open capped at a quarter of 8')
  // At the limit a TCP newcomer displaces a uTP SYN first, though TCP half-opens are older.
  const evicted = enter(new Conn('tcp-new', '10.5.5.5', clock.t++)) as Conn[]
  assert.equal(evicted[0].info.transport, 'utp')
})

test('a uTP newcomer never displaces a TCP connection still handshaking', () => {
  const { clock, enter } = setup({ connectionLimit: 4, utpHalfOpenShare: 0.5 })
  for (let i = 0; i < 4; i++) enter(new Conn(`t${i}`, `10.0.${i}.1`, clock.t++))
  assert.equal(enter(new Conn('u', '192.0.0.1', clock.t++, 'utp')), 'connection-limit')
})

test('the pre-handshake deadline shortens when the table is half full; expired half-opens come oldest first', () => {
  const { a, clock, enter } = setup({ connectionLimit: 10, handshakeTimeoutMs: 10_000, pressureHandshakeTimeoutMs: 2000 })
  const first = [0, 1, 2, 3].map(i => new Conn(`c${i}`, `10.0.${i}.1`, clock.t))
  for (const c of first) enter(c)
  assert.equal(a.underPressure, false)
  assert.equal(a.handshakeDeadlineMs(), 10_000)
  clock.t += 3000
  assert.deepEqual([...a.expiredHalfOpen()], [], 'not yet: 3 s < 10 s without pressure')
  enter(new Conn('c4', '10.0.4.1', clock.t))
  assert.equal(a.underPressure, true)
  assert.equal(a.handshakeDeadlineMs(), 2000)
  assert.deepEqual([...a.expiredHalfOpen()].map(c => c.name), ['c0', 'c1', 'c2', 'c3'], 'c4 is new')
})

test('half-open uTP connections holding their whole share get the short deadline', () => {
  const { a, clock, enter } = setup({ connectionLimit: 40, utpHalfOpenShare: 0.25, handshakeTimeoutMs: 10_000, pressureHandshakeTimeoutMs: 2000 })
  for (let i = 0; i < 9; i++) enter(new Conn(`u${i}`, `192.0.${i}.1`, clock.t, 'utp'))
  enter(new Conn('t', '10.0.0.1', clock.t))
  assert.equal(a.utpHalfOpenFull, false)
  clock.t += 3000
  assert.deepEqual([...a.expiredHalfOpen()], [], '9 of a share of 10: the normal 10 s deadline')
  enter(new Conn('u9', '192.0.9.1', clock.t - 3000, 'utp'))
  assert.equal(a.utpHalfOpenFull, true)
  assert.deepEqual([...a.expiredHalfOpen()].map(c => c.name), ['u0', 'u1', 'u2', 'u3', 'u4', 'u5', 'u6', 'u7', 'u8', 'u9'], 'the share is full: 2 s, and only for uTP')
})

test('a network whose connections keep being evicted for asking nothing is refused at the limit', () => {
  const { a, clock, enter } = setup({ connectionLimit: 2, unproductivePerSubnetPerSecond: 2 })
  const handshake = (c: Conn): Conn => { enter(c); c.isHandshaken = true; a.handshaken(c); return c }
  handshake(new Conn('leecher', '10.0.0.1', clock.t)); a.asked([...a.connections()][0])
  let n = 0
  handshake(new Conn(`f${n++}`, '192.0.2.1', clock.t))
  // Two evictions of that /24's quiet connections: its budget is spent.
  for (let i = 0; i < 2; i++) {
    const r = enter(new Conn(`f${n}`, '192.0.2.1', clock.t))
    assert.ok(Array.isArray(r) && r.length === 1, 'makes room by evicting the previous quiet one')
    const c = [...a.connections()].find(x => x.name === `f${n}`)!
    c.isHandshaken = true; a.handshaken(c); n++
  }
  assert.equal(enter(new Conn('f-next', '192.0.2.7', clock.t)), 'unproductive-network', 'the same /24: refused before anything is built')
  const other = enter(new Conn('other', '198.51.100.1', clock.t))
  assert.ok(Array.isArray(other), 'another network still gets in (evicting the quiet one)')
  clock.t += 1000
  assert.ok(Array.isArray(enter(new Conn('later', '192.0.2.9', clock.t))), 'a second later its budget has refilled')
  assert.ok(!a.kindOf([...a.connections()].find(c => c.name === 'leecher')!).startsWith('unproductive'), 'the leecher that asked is never charged')
})

test('TCP connections evicted still half-open charge their subnet: once spent, its newcomers are refused at the limit', () => {
  const { a, clock, enter } = setup({ connectionLimit: 2, unproductivePerSubnetPerSecond: 2 })
  const leecher = new Conn('leecher', '10.0.0.1', clock.t)
  enter(leecher); leecher.isHandshaken = true; a.handshaken(leecher); a.asked(leecher)
  enter(new Conn('s0', '192.0.2.1', clock.t++))
  // Silent newcomers from one /24 evict each other (the oldest half-open goes), twice.
  for (let i = 1; i <= 2; i++) {
    const r = enter(new Conn(`s${i}`, '192.0.2.2', clock.t++))
    assert.deepEqual(Array.isArray(r) && r.map(c => c.name), [`s${i - 1}`])
  }
  assert.equal(enter(new Conn('s3', '192.0.2.3', clock.t)), 'unproductive-network', 'two silent evictions a second spent the budget')
  const other = new Conn('other', '198.51.100.1', clock.t)
  assert.deepEqual((enter(other) as Conn[]).map(c => c.name), ['s2'], 'another network still gets in')
  assert.ok([...a.connections()].includes(leecher), 'the leecher that handshook and asked is never the victim')
  // That third eviction put the /24 into debt: half a second refills only what it owes.
  clock.t += 500
  assert.equal(enter(new Conn('s4', '192.0.2.4', clock.t)), 'unproductive-network', 'a subnet evicted faster than its budget stays refused')
  clock.t += 500
  assert.ok(Array.isArray(enter(new Conn('later', '192.0.2.9', clock.t))), 'a second after its last eviction it gets in again')
})

test('half-open TCP connections that time out charge their subnet; a spent subnet is refused once the table is half full', () => {
  const { a, clock, enter } = setup({ connectionLimit: 8, unproductivePerSubnetPerSecond: 2, pressureHandshakeTimeoutMs: 2000 })
  for (let i = 0; i < 4; i++) enter(new Conn(`s${i}`, `192.0.2.${i + 1}`, clock.t))
  enter(new Conn('u', '192.0.2.50', clock.t, 'utp'))
  assert.equal(a.underPressure, true)
  clock.t += 2001
  for (const c of [...a.expiredHalfOpen()]) a.remove(c) // what the sweep does: close each one
  assert.equal(a.size, 0)
  for (let i = 0; i < 4; i++) enter(new Conn(`t${i}`, `198.51.100.${i + 1}`, clock.t))
  assert.equal(a.size, 4, 'half full again, by another network')
  assert.equal(a.wouldRefuse('tcp', '192.0.2.99')?.reason, 'unproductive-network', 'four silent timeouts spent the /24 (and put it in debt)')
  assert.equal(enter(new Conn('x', '192.0.2.99', clock.t)), 'unproductive-network', 'below the limit, but half full: refused')
  assert.equal(a.wouldRefuse('tcp', '203.0.113.1'), null, 'other networks are not')
})

test('evicting a connection that was served everything charges nobody', () => {
  const { a, clock, enter } = setup({ connectionLimit: 1, unproductivePerSubnetPerSecond: 1 })
  for (let i = 0; i < 5; i++) {
    const c = new Conn(`l${i}`, '10.0.0.1', clock.t++)
    assert.ok(Array.isArray(enter(c)), `leecher connection ${i} gets in`)
    c.isHandshaken = true; a.handshaken(c); a.asked(c); a.satisfied(c)
  }
  assert.equal(a.wouldRefuse('tcp', '10.0.0.2'), null, 'four served connections evicted: its /24 owes nothing')
})

test('uTP evictions never charge a subnet: a spoofed SYN cannot get a network refused', () => {
  const { a, clock, enter } = setup({ connectionLimit: 2, unproductivePerSubnetPerSecond: 1, utpHalfOpenShare: 1 })
  for (let i = 0; i < 10; i++) assert.ok(Array.isArray(enter(new Conn(`u${i}`, '10.0.0.1', clock.t++, 'utp'))))
  assert.equal(a.wouldRefuse('tcp', '10.0.0.2'), null, 'TCP from the SYNs\' claimed /24 still gets in')
})

test('wouldRefuse answers what admit would, and charges nothing', () => {
  const { a, clock, enter } = setup({ connectionLimit: 2, unproductivePerSubnetPerSecond: 1, perIpLimit: 1, idlePerNewSubnet: 100 })
  assert.equal(a.wouldRefuse('tcp', '192.0.2.1'), null, 'below the limit')
  enter(new Conn('s0', '192.0.2.1', clock.t++))
  assert.equal(a.wouldRefuse('tcp', '192.0.2.1'), null, 'per IP: its own half-open would make room')
  enter(new Conn('s1', '192.0.2.2', clock.t++))
  for (let i = 0; i < 5; i++) assert.equal(a.wouldRefuse('tcp', '192.0.2.3'), null, 'asking charges nothing')
  assert.ok(Array.isArray(enter(new Conn('s2', '192.0.2.3', clock.t++))), 'admitted, evicting s0 (charged)')
  assert.equal(a.wouldRefuse('tcp', '192.0.2.4')?.reason, 'unproductive-network')
  assert.equal(enter(new Conn('s3', '192.0.2.4', clock.t)), 'unproductive-network', 'admit agrees')
  assert.equal(a.wouldRefuse('tcp', '198.51.100.1'), null, 'another network')
  for (const c of [...a.connections()]) { c.isHandshaken = true; a.handshaken(c); a.asked(c); c.isBusy = true }
  assert.equal(a.wouldRefuse('tcp', '198.51.100.1')?.reason, 'connection-limit', 'nothing evictable: refused')
  assert.equal(a.wouldRefuse('tcp', '192.0.2.2')?.reason, 'per-ip-limit', 'its IP is at its limit, nothing of it half-open')
})

test('a network never served here holds at most idlePerNewSubnet idle TCP connections once the table is half full; a served one is not held to it', () => {
  const { a, clock, enter } = setup({ connectionLimit: 8 })
  assert.equal(ADMISSION_DEFAULTS.idlePerNewSubnet, 2)
  for (let i = 0; i < 4; i++) assert.ok(Array.isArray(enter(new Conn(`f${i}`, `10.1.${i}.1`, clock.t++))), 'below half full: anyone gets in')
  const burst = [1, 2, 3, 4].map(i => new Conn(`b${i}`, `10.2.0.${i}`, clock.t++))
  assert.ok(Array.isArray(enter(burst[0])) && Array.isArray(enter(burst[1])), 'a new network\'s first two get in')
  assert.equal(a.wouldRefuse('tcp', '10.2.0.3')?.reason, 'unknown-network', 'its third is refused before anything is built')
  assert.equal(enter(burst[2]), 'unknown-network', 'admit agrees')
  // One of them asks: it is doing what a leecher does, a slot of the two frees.
  burst[0].isHandshaken = true; a.handshaken(burst[0])
  assert.equal(a.wouldRefuse('tcp', '10.2.0.3')?.reason, 'unknown-network', 'handshaken and never asked is still idle')
  a.asked(burst[0])
  assert.equal(a.wouldRefuse('tcp', '10.2.0.3'), null, 'one idle connection: a newcomer gets in')
  // Once a connection of the network was served everything, the cap no longer applies to it.
  a.satisfied(burst[0])
  assert.ok(Array.isArray(enter(burst[2])) && Array.isArray(enter(burst[3])), 'a served network may have more connections in flight')
  assert.equal(a.wouldRefuse('tcp', '10.2.0.9'), null)
  // Idle counts follow closes; uTP connections never count (their addresses can be spoofed).
  const other = [1, 2].map(i => new Conn(`o${i}`, `10.3.0.${i}`, clock.t++))
  for (const c of other) enter(c)
  assert.equal(a.wouldRefuse('tcp', '10.3.0.3')?.reason, 'unknown-network')
  a.remove(other[0])
  assert.equal(a.wouldRefuse('tcp', '10.3.0.3'), null, 'a closed connection leaves its network\'s idle count')
  const spoofed = setup({ connectionLimit: 4, utpHalfOpenShare: 1 })
  for (let i = 0; i < 3; i++) spoofed.enter(new Conn(`u${i}`, '10.4.0.1', spoofed.clock.t++, 'utp'))
  assert.equal(spoofed.a.wouldRefuse('tcp', '10.4.0.2'), null, 'uTP SYNs claiming a network never hold its TCP newcomers back')
})

test('a network whose TCP connections keep breaking the protocol is refused whatever the table holds; it refills', () => {
  const { a, clock, enter } = setup({ connectionLimit: 100 })
  assert.equal(ADMISSION_DEFAULTS.faultsPerSubnetPerSecond, 2)
  const faulty = (i: number, reason: string, transport = 'tcp'): void => {
    const c = new Conn(`f${i}`, `10.5.0.${i}`, clock.t, transport)
    assert.ok(Array.isArray(enter(c)))
    c.closed = { reason }
    a.remove(c)
  }
  faulty(1, 'remote-closed'); faulty(2, 'unknown-infohash'); faulty(3, 'handshake-timeout')
  faulty(4, 'message-too-large', 'utp')
  assert.equal(a.wouldRefuse('tcp', '10.5.0.9'), null, 'closes that are not faults, and uTP faults, charge nothing')
  faulty(5, 'message-too-large')
  assert.equal(a.wouldRefuse('tcp', '10.5.0.9'), null, 'one fault a second is allowed')
  faulty(6, 'protocol-error')
  assert.equal(a.wouldRefuse('tcp', '10.5.0.9')?.reason, 'faulty-network', 'the table is nearly empty, the network is refused')
  assert.equal(enter(new Conn('n', '10.5.0.9', clock.t)), 'faulty-network', 'admit agrees')
  assert.equal(a.wouldRefuse('tcp', '10.6.0.1'), null, 'another network is not')
  assert.equal(a.wouldRefuse('utp', '10.5.0.9'), null, 'uTP is not refused by it (SYN addresses are spoofable)')
  clock.t += 500
  assert.equal(a.wouldRefuse('tcp', '10.5.0.9'), null, 'half a second later it has a token again')
})

test('MSE budget: per second overall and per subnet, refilled by the clock', () => {
  const clock = { t: 0 }
  const b = new OperationBudget({ perSecond: 10, perSourcePerSecond: 3 }, () => clock.t)
  assert.deepEqual([1, 2, 3, 4].map(() => b.take('net-a')), [null, null, null, 'source'])
  for (let i = 0; i < 7; i++) assert.equal(b.take(`net-${i + 10}`), null)
  assert.equal(b.take('net-z'), 'total')
  clock.t += 500
  assert.equal(b.take('net-z'), null, 'half a second refills half the budget')
  assert.equal(b.take('net-a'), null)

  const { a } = setup({ keyExchangesPerSecond: 100, keyExchangesPerSubnetPerSecond: 2 })
  assert.equal(a.admitKeyExchange('10.0.0.1'), null)
  assert.equal(a.admitKeyExchange('10.0.0.2'), null)
  assert.equal(a.admitKeyExchange('10.0.0.3')?.reason, 'mse-budget', 'same /24')
  assert.equal(a.admitKeyExchange('10.0.1.3'), null)
})

test('a charge goes into debt down to one second of the budget, then refills', () => {
  const clock = { t: 0 }
  const b = new OperationBudget({ perSecond: 1e9, perSourcePerSecond: 2 }, () => clock.t)
  for (let i = 0; i < 10; i++) b.charge('net')
  assert.equal(b.exhausted('net'), true)
  clock.t += 1000
  assert.equal(b.exhausted('net'), true, 'ten charges owe one second (the floor), not five')
  clock.t += 500
  assert.equal(b.exhausted('net'), false, 'one and a half seconds after the last charge: a token again')
  assert.equal(b.exhausted('other'), false)
})

test('the per-source table stays bounded', () => {
  const clock = { t: 0 }
  const b = new OperationBudget({ perSecond: 1e9, perSourcePerSecond: 5, maxSources: 100 }, () => clock.t)
  for (let i = 0; i < 10_000; i++) b.take(`s${i}`)
  assert.ok(b.trackedSources <= 100)
})
