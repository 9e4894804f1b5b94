/**
 * The one place that reaches into bittorrent-protocol's MSE/PE code (pinned to 5.0.9; the
 * contract test test/hostile/mse-contract.test.ts fails loudly when an upgrade moves it).
 *
 * Why: its MessageStreamEncryptor builds `crypto.createDiffieHellman(prime)` for every
 * connection, and Node/OpenSSL validate the prime on each construction (~20 ms of CPU, the
 * key computations themselves are ~0.3 ms). The prime is a constant of the MSE spec, so a
 * deployment injects a key exchange that skips the check (the Node one lives in
 * src/transport/mse-dh.ts; the core never imports node:*). The hook also puts a gate in
 * front of the first Diffie-Hellman operation, so a budget can refuse it before any
 * expensive work happens.
 *
 * The encryptor reads `this.dh` (a lazy getter over `_dh`) for exactly two operations:
 * `generateKeys()` (our public key, any length up to 96 bytes; it left-pads) and
 * `computeSecret(peerPublic)` (the shared secret S, hashed as is).
 */

/** One side of the MSE Diffie-Hellman exchange (768-bit MSE prime, generator 2). */
export interface MseKeyExchange {
  /** Our public key Y (big-endian, at most 96 bytes). */
  generateKeys (): Uint8Array
  /** The shared secret S for the peer's public key, left-padded to exactly 96 bytes. */
  computeSecret (peerPublic: Uint8Array): Uint8Array
}

/** Makes the key exchange for one connection. */
export type MseKeyExchangeFactory = () => MseKeyExchange

/** Called before a connection's first Diffie-Hellman operation; throws (a PeerFault) to refuse. */
export type MseGate = () => void

let defaultFactory: MseKeyExchangeFactory | null = null

/**
 * Sets the key exchange every MSE-capable wire uses from now on. The Node transports call
 * this with the cheap Node implementation; without it the package's own (slow) code runs.
 */
export function setMseKeyExchange (factory: MseKeyExchangeFactory | null): void {
  defaultFactory = factory
}

export function mseKeyExchange (): MseKeyExchangeFactory | null {
  return defaultFactory
}

interface EncryptorInternals {
  _dh: unknown
}

/**
 * Replaces the encryptor's lazy `dh` with a gated one from `factory` (or the package's own
 * when none is set). Does nothing for a wire without MSE.
 */
export function hookMseKeyExchange (wire: object, gate: MseGate): void {
  const encryptor = (wire as { _encryptor?: EncryptorInternals | null })._encryptor
  if (!encryptor) return
  const factory = defaultFactory
  const proto = Object.getPrototypeOf(encryptor) as object
  const original = Object.getOwnPropertyDescriptor(proto, 'dh')?.get
  Object.defineProperty(encryptor, 'dh', {
    configurable: true,
    get (this: EncryptorInternals) {
      if (this._dh === null || this._dh === undefined) {
        gate()
        this._dh = factory ? factory() : original!.call(this)
      }
      return this._dh
    }
  })
}
