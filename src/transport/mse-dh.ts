/**
 * The MSE/PE Diffie-Hellman exchange at libtorrent's cost, for Node (installed by the TCP
 * and uTP transports through the core's hook, src/core/mse-hook.ts).
 *
 * bittorrent-protocol calls `crypto.createDiffieHellman(prime)` per connection, and OpenSSL
 * checks the prime on every construction: ~20 ms of CPU for each connection that opens with
 * 96 bytes of anything. The prime is a constant of the MSE spec, so it is checked once: one
 * DiffieHellman object is built at first use and every connection sets its own private key
 * on it before each (synchronous) operation, ~0.15 ms each. Measured on Node 24:
 * getDiffieHellman('modp1') costs the same ~20 ms, and is not this prime anyway (MSE's P
 * shares Oakley group 1's leading digits but not its tail).
 */
import { createDiffieHellman, randomBytes, type DiffieHellman } from 'node:crypto'
import type { MseKeyExchange } from '../core/mse-hook.ts'
import { PeerFault } from '../core/peer-fault.ts'

/** The MSE spec's 768-bit prime P (generator 2). */
export const MSE_PRIME_HEX =
  'ffffffffffffffffc90fdaa22168c234c4c6628b80dc1cd129024e088a67cc74020bbea63b139b22514a08798e3404ddef9519b3cd3a431b302b0a6df25f14374fe1356d6d51c245e485b576625e7ec6f44c42e9a63a36210000000000090563'

/** MSE spec: private keys of at least 128 bits; beyond 180 bits adds no security. */
const PRIVATE_KEY_BYTES = 20
const KEY_BYTES = 96

let shared: DiffieHellman | null = null

/** A key exchange for one connection. */
export function nodeMseKeyExchange (): MseKeyExchange {
  shared ??= createDiffieHellman(MSE_PRIME_HEX, 'hex', 2)
  const dh = shared
  const privateKey = randomBytes(PRIVATE_KEY_BYTES)
  return {
    generateKeys () {
      dh.setPrivateKey(privateKey)
      return dh.generateKeys()
    },
    computeSecret (peerPublic) {
      dh.setPrivateKey(privateKey)
      let secret: Uint8Array
      try {
        secret = dh.computeSecret(peerPublic)
      } catch (err) {
        throw new PeerFault('bad-encryption', 'encryption', `MSE public key rejected: ${(err as Error).message}`)
      }
      if (secret.length === KEY_BYTES) return secret
      // S is hashed as 96 bytes by every other implementation; OpenSSL drops leading zeros.
      const padded = new Uint8Array(KEY_BYTES)
      padded.set(secret, KEY_BYTES - secret.length)
      return padded
    }
  }
}
