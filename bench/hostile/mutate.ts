/**
 * The fuzz flood's message mutator (seeded): valid messages a metadata peer sees, then bit
 * flips, byte inserts and deletes, truncation, splices of two messages, and random length
 * prefixes. Mutations stay near valid input on purpose: random bytes are rejected at the first
 * length check, near-valid bytes reach the parsers.
 */
import bencode from 'bencode'
import { extended, message } from './bt-bytes.ts'

type Rand = () => number

const int = (rand: Rand, n: number): number => Math.floor(rand() * n)

function u32 (...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4)
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4))
  return b
}

/** One valid (or valid-looking) message, drawn from what peers really send. */
export function validMessage (rand: Rand): Buffer {
  switch (int(rand, 14)) {
    case 0: return extended(0, bencode.encode({ m: { ut_metadata: 1 + int(rand, 3), ut_pex: 2 }, v: 'fuzz 1', metadata_size: int(rand, 40_000), reqq: 250 }))
    case 1: return extended(1 + int(rand, 3), bencode.encode({ msg_type: 0, piece: int(rand, 4) }))
    case 2: return extended(1 + int(rand, 3), bencode.encode({ msg_type: int(rand, 3), piece: int(rand, 3), total_size: int(rand, 40_000) }))
    case 3: return message(2) // interested
    case 4: return message(3) // not interested
    case 5: return message(4, u32(int(rand, 5000))) // have
    case 6: return message(5, Buffer.alloc(1 + int(rand, 64), 0xff)) // bitfield
    case 7: return message(6, u32(int(rand, 100), 0, 16384)) // request
    case 8: return message(8, u32(int(rand, 100), 0, 16384)) // cancel
    case 9: return message(9, Buffer.from([0x1a, 0xe1])) // port
    case 10: return message(14) // have all
    case 11: return message(15) // have none
    case 12: return message(16, u32(int(rand, 100), 0, 16384)) // reject
    default: return Buffer.alloc(4) // keep-alive
  }
}

/** `m` with one or more mutations applied. */
export function mutate (m: Buffer, rand: Rand, other: () => Buffer): Buffer {
  let b = Buffer.from(m)
  const rounds = 1 + int(rand, 3)
  for (let r = 0; r < rounds; r++) {
    const at = int(rand, Math.max(1, b.length))
    switch (int(rand, 7)) {
      case 0: // flip bits
        for (let k = 0; k <= int(rand, 4); k++) { const i = int(rand, b.length); b[i] ^= 1 << int(rand, 8) }
        break
      case 1: // insert bytes
        b = Buffer.concat([b.subarray(0, at), Buffer.from(Array.from({ length: 1 + int(rand, 8) }, () => int(rand, 256))), b.subarray(at)])
        break
      case 2: // delete bytes
        b = Buffer.concat([b.subarray(0, at), b.subarray(Math.min(b.length, at + 1 + int(rand, 8)))])
        break
      case 3: // truncate
        b = b.subarray(0, at)
        break
      case 4: { // splice with another message
        const o = other()
        b = Buffer.concat([b.subarray(0, at), o.subarray(int(rand, Math.max(1, o.length)))])
        break
      }
      case 5: // random length prefix (small, so the body follows and is parsed)
        if (b.length >= 4) b.writeUInt32BE(int(rand, b.length + 16), 0)
        break
      default: // an interesting value somewhere (0, 0xff, a bencode delimiter)
        b[at] = [0, 0xff, 0x65, 0x69, 0x64, 0x6c, 0x3a, 0x2d][int(rand, 8)]
    }
  }
  return b
}
