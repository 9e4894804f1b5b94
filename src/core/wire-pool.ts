/**
 * Recycled plaintext direct-mode wires. Building a bittorrent-protocol Wire costs more than
 * everything else a metadata exchange does in JavaScript: a streamx Duplex (two states, two
 * queues, four bound functions), two throughput meters, a BitField, listener registrations,
 * the extension, and `crypto.randomBytes(4)` for a debug id (a native crypto job and a
 * getpid(2) of its own). A direct-mode wire never uses its stream half, so once its
 * connection is over it can serve the next one: every field is put back to what it was right
 * after the wire was built and set up.
 *
 * Put back how: at setup the pool records every own field and its value. A primitive or a
 * function (the wire's own bound parser and flush) is restored as it was; an array (all empty
 * then) becomes a new empty one; a plain object (the extension tables, `_events`) a fresh
 * shallow copy of what it held; a field added later (`_handshakeSent`, ...) becomes
 * undefined (assigning keeps the object's shape, deleting would not). Any other object is
 * one of the few this file knows (the stream states, untouched in direct mode; the
 * extension, reset by its own `reset()`; the peer's BitField, pristine unless a peer sent
 * `have`), and a wire whose known objects are not pristine is dropped, not recycled. A field
 * of any other kind turns recycling off altogether, so an upgrade of bittorrent-protocol
 * cannot leak one connection's state into the next (test/adapters checks the pinned one).
 */
import { GuardedWire } from './wire.ts'

/** Fields holding objects that are neither arrays nor plain, and how to tell they can be kept. */
const KNOWN_OBJECTS: Record<string, (value: unknown) => boolean> = {
  // streamx's halves: a direct-mode wire never reads, writes or ends its stream side.
  _readableState: () => true,
  _writableState: () => true,
  // bittorrent-protocol replaces it on `bitfield` and `have_all`; `have` grows it in place.
  peerPieces: v => (v as { buffer?: Uint8Array }).buffer?.length === 0,
  // Our ut_metadata server: reset() forgets the peer's id and its sink.
  ut_metadata: v => typeof (v as { reset?: unknown }).reset === 'function'
}

type Fields = Record<string, unknown>

/** Timers bittorrent-protocol keeps per wire (keep-alive, request timeout): a recycled wire must have none running. */
const TIMERS = ['_keepAliveInterval', '_timeout']

/** A wire's fields as built, sorted by how each is put back (precomputed: restore runs per connection). */
interface Snapshot {
  keys: Set<string>
  /** Restored as they were: primitives, functions, the known objects (keys and values side by side). */
  valueKeys: string[]
  values: unknown[]
  /** Each becomes an empty array: the one put there last time while it is still there and empty, else a new one. */
  arrays: string[]
  arraysPut: unknown[][]
  /**
   * Each gets the recorded contents: the object put there last time when it still holds
   * exactly them (nothing of the connection is in it), else a fresh copy.
   */
  plainKeys: string[]
  plains: Fields[]
  plainsPut: Fields[]
  /** Each recorded object's keys, and the wire's field that counts them (`_eventsCount`), if any. */
  plainKeyLists: string[][]
  plainCounts: Array<string | null>
  /** Known objects: [field, value, still-usable check]. */
  known: Array<[string, unknown, (value: unknown) => boolean]>
  /** Extensions to reset (our ut_metadata server). */
  resets: Array<{ reset (): void }>
  /** Fields the wire added after the snapshot (set to undefined on restore). */
  late: string[]
  duplexState: unknown
  /**
   * The value and array fields put back by code built for this field list (see
   * {@link compileRestore}), or null where building code is not allowed (a page whose
   * content security policy forbids it): then the loops below do it.
   */
  putBack: ((self: Fields, values: unknown[], arraysPut: unknown[][]) => void) | null
}

const snapshots = new WeakMap<GuardedWire, Snapshot>()

function isPlain (v: object): boolean {
  const proto = Object.getPrototypeOf(v)
  return proto === Object.prototype || proto === null
}

/** The wire's fields as built, or null when one is of a kind this file cannot restore. */
function snapshotOf (wire: GuardedWire): Snapshot | null {
  const self = wire as unknown as Fields
  const snap: Snapshot = { keys: new Set(), valueKeys: [], values: [], arrays: [], arraysPut: [], plainKeys: [], plains: [], plainsPut: [], plainKeyLists: [], plainCounts: [], known: [], resets: [], late: [], duplexState: self._duplexState, putBack: null }
  for (const key of Object.keys(self)) {
    const value = self[key]
    snap.keys.add(key)
    if (value === null || typeof value !== 'object') { snap.valueKeys.push(key); snap.values.push(value) }
    else if (Array.isArray(value)) {
      if (value.length !== 0) return null
      snap.arrays.push(key)
      snap.arraysPut.push(value)
    } else if (isPlain(value)) {
      // Its contents as they are now: the wire goes on writing into the object itself.
      snap.plainKeys.push(key)
      snap.plains.push(copyPlain(value as Fields))
      snap.plainsPut.push(value as Fields)
      snap.plainKeyLists.push(Object.keys(value))
      snap.plainCounts.push(key === '_events' && typeof self._eventsCount === 'number' ? '_eventsCount' : null)
    } else {
      const check = KNOWN_OBJECTS[key]
      if (!check?.(value)) return null
      snap.valueKeys.push(key)
      snap.values.push(value)
      snap.known.push([key, value, check])
      if (key === 'ut_metadata') snap.resets.push(value as { reset (): void })
    }
  }
  snap.putBack = compileRestore(snap.valueKeys, snap.arrays)
  return snap
}

/**
 * Code that puts back a wire's value and array fields by name, built once per field list. The
 * loops over key lists (`self[keys[i]] = values[i]`) reach ~60 fields of one object through
 * V8's megamorphic keyed stores and loads: those, and the loop itself, were the largest
 * single item of JavaScript per exchange (a CPU profile of the CLI under load: ~5% of its
 * CPU). With the names in the code, each access is a named one, cached for the wire's
 * shape. The names are the Wire's own fields (never a peer's bytes), written as JSON string
 * literals. A value field is written only when it changed (most never do).
 */
function compileRestore (valueKeys: string[], arrays: string[]): Snapshot['putBack'] {
  // One function per field list, shared by every wire built alike (all of them, as a rule):
  // one per wire ran 1/256th as often as the pool's wires take turns, so V8 never optimized
  // most of them, and each kept its own inline caches and code.
  const signature = arrays.join('\u0000') + '\u0001' + valueKeys.join('\u0000')
  const known = compiledRestores.get(signature)
  if (known !== undefined) return known
  const built = buildRestore(valueKeys, arrays)
  if (compiledRestores.size < COMPILED_RESTORES_MAX) compiledRestores.set(signature, built)
  return built
}

/** Put-back code by field list (a handful at most: one per way the wires of this process are built). */
const compiledRestores = new Map<string, Snapshot['putBack']>()
const COMPILED_RESTORES_MAX = 16

function buildRestore (valueKeys: string[], arrays: string[]): Snapshot['putBack'] {
  const lines: string[] = []
  for (let i = 0; i < arrays.length; i++) {
    const k = JSON.stringify(arrays[i])
    lines.push(`{ const put = a[${i}]; if (self[${k}] !== put || put.length !== 0) self[${k}] = a[${i}] = [] }`)
  }
  for (let i = 0; i < valueKeys.length; i++) {
    const k = JSON.stringify(valueKeys[i])
    lines.push(`if (self[${k}] !== v[${i}]) self[${k}] = v[${i}]`)
  }
  try {
    return new Function('self', 'v', 'a', '"use strict"\n' + lines.join('\n')) as Snapshot['putBack']
  } catch {
    return null
  }
}

/**
 * Whether plain object `v` holds exactly `keys` with `recorded`'s values (array values element
 * by element), without allocating. `count` is how many own keys `v` has when that is known
 * without enumerating it (an emitter's `_eventsCount` for its `_events`), else -1. Counting
 * takes a `for...in`, which allocates the keys of an object in dictionary mode (every
 * null-prototype object, like `_events`): one of those with no count is copied instead.
 */
function samePlain (v: Fields, recorded: Fields, keys: string[], count: number): boolean {
  if (count < 0) {
    if (Object.getPrototypeOf(v) === null) return false
    count = 0
    for (const k in v) count += 1
  }
  if (count !== keys.length) return false
  for (let j = 0; j < keys.length; j++) {
    const k = keys[j]
    const a = v[k]
    const b = recorded[k]
    if (a === b) { if (a !== undefined || Object.hasOwn(v, k)) continue; return false }
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  }
  return true
}

/** A shallow copy of a plain object, its array values copied too (`_events` holds arrays of listeners). */
function copyPlain (v: Fields): Fields {
  const out: Fields = Object.getPrototypeOf(v) === null ? Object.create(null) : {}
  for (const k in v) out[k] = Array.isArray(v[k]) ? [...(v[k] as unknown[])] : v[k]
  return out
}

export class WirePool {
  private readonly free: GuardedWire[] = []
  private readonly pending: GuardedWire[] = []
  private releaseQueued = false
  /** Off once a wire turned out to have a field this file cannot restore. */
  private enabled = true
  private readonly releaseBound = (): void => this.releasePending()
  private readonly setup: (wire: GuardedWire) => void
  readonly max: number

  /**
   * @param setup what every wire gets once (extensions, shared listeners) before its fields
   *   are recorded
   * @param max wires kept for reuse at most (the rest are left to the GC)
   */
  constructor (setup: (wire: GuardedWire) => void, max = 256) {
    this.setup = setup
    this.max = max
  }

  /** A plaintext wire as if just built and set up. */
  acquire (type: string): GuardedWire {
    const wire = this.free.pop()
    if (wire) {
      ;(wire as unknown as Fields).type = type
      return wire
    }
    const fresh = new GuardedWire(type, 0)
    this.setup(fresh)
    if (this.enabled) {
      const snap = snapshotOf(fresh)
      if (snap) snapshots.set(fresh, snap)
      else this.enabled = false
    }
    return fresh
  }

  /**
   * A wire whose connection is over. Restored on a microtask, once the stack that closed the
   * connection (often the wire's own parser) has unwound and can no longer touch it.
   */
  release (wire: GuardedWire): void {
    if (!this.enabled || !snapshots.has(wire) || this.free.length + this.pending.length >= this.max) return
    this.pending.push(wire)
    if (!this.releaseQueued) {
      this.releaseQueued = true
      queueMicrotask(this.releaseBound)
    }
  }

  private releasePending (): void {
    this.releaseQueued = false
    for (const wire of this.pending) if (this.restore(wire)) this.free.push(wire)
    this.pending.length = 0
  }

  /** Puts every field back; false (the wire is dropped) when a known object is not pristine. */
  private restore (wire: GuardedWire): boolean {
    const snap = snapshots.get(wire)!
    const self = wire as unknown as Fields
    if (self._duplexState !== snap.duplexState) return false
    for (const key of TIMERS) if (self[key] !== null && self[key] !== undefined) return false
    // The recorded objects go back in: each must still be as it was (one replaced since is left alone).
    // Indexed loops over side-by-side arrays: destructuring pairs here allocated per field.
    for (let i = 0; i < snap.known.length; i++) if (!snap.known[i][2](snap.known[i][1])) return false
    const keys = Object.keys(self)
    if (keys.length !== snap.keys.size) {
      for (let i = 0; i < keys.length; i++) if (!snap.keys.has(keys[i])) { snap.keys.add(keys[i]); snap.late.push(keys[i]) }
    }
    for (let i = 0; i < snap.late.length; i++) self[snap.late[i]] = undefined
    const putBack = snap.putBack
    if (putBack === null) {
      for (let i = 0; i < snap.arrays.length; i++) {
        const put = snap.arraysPut[i]
        if (self[snap.arrays[i]] !== put || put.length !== 0) self[snap.arrays[i]] = snap.arraysPut[i] = []
      }
    }
    for (let i = 0; i < snap.plainKeys.length; i++) {
      // The object put there last time (the wire may have replaced it meanwhile, or written into it).
      const put = snap.plainsPut[i]
      const countField = snap.plainCounts[i]
      // The count describes the object on the wire now; for one it has replaced, there is none.
      const count = countField !== null && self[snap.plainKeys[i]] === put ? self[countField] as number : -1
      if (samePlain(put, snap.plains[i], snap.plainKeyLists[i], count)) self[snap.plainKeys[i]] = put
      else self[snap.plainKeys[i]] = snap.plainsPut[i] = copyPlain(snap.plains[i])
    }
    // After the plain objects: a count among these values (`_eventsCount`) was read above as it
    // was. (The arrays go back here too when the code for it exists: they are independent of both.)
    if (putBack !== null) putBack(self, snap.values, snap.arraysPut)
    else for (let i = 0; i < snap.valueKeys.length; i++) self[snap.valueKeys[i]] = snap.values[i]
    for (let i = 0; i < snap.resets.length; i++) snap.resets[i].reset()
    return true
  }
}
