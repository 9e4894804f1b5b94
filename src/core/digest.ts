/**
 * SHA-1 / SHA-256 as hex, for info hashes. Isomorphic by default (uint8-util: WebCrypto in
 * browsers, node:crypto in Node, always async). A platform may install a faster synchronous
 * one: Node's one-shot `crypto.hash` is several times cheaper than a Hash object per call,
 * which is most of what loading 100k torrents costs after reading the files.
 */
import { hash } from 'uint8-util'

export type DigestAlgorithm = 'sha-1' | 'sha-256'
export type SyncDigest = (algorithm: DigestAlgorithm, data: Uint8Array) => string

let syncDigest: SyncDigest | null = null

/** Installs a synchronous digest (the Node entry does). */
export function setSyncDigest (fn: SyncDigest | null): void {
  syncDigest = fn
}

/** Hex digest of `data`; synchronous when the platform installed a synchronous digest. */
export function digestHex (algorithm: DigestAlgorithm, data: Uint8Array): string | Promise<string> {
  if (syncDigest) return syncDigest(algorithm, data)
  return hash(data as Uint8Array<ArrayBuffer>, 'hex', algorithm)
}
