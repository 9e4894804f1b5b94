/**
 * Torrents for the conformance suite, built with bencode alone so the suite also runs in a
 * browser. Piece hashes are random: a metadata peer never checks content.
 */
import bencode from 'bencode'
import { text2arr } from 'uint8-util'

export interface TestTorrent {
  torrentBytes: Uint8Array
  name: string
}

function randomBytes (n: number): Uint8Array {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i += 65536) crypto.getRandomValues(out.subarray(i, Math.min(n, i + 65536)))
  return out
}

export function makeTorrent (options: { name?: string, pieces?: number, private?: boolean, urlList?: string[], announce?: string } = {}): TestTorrent {
  const name = options.name ?? `conformance-${Math.random().toString(36).slice(2)}.bin`
  const pieces = options.pieces ?? 4
  const info: Record<string, unknown> = {
    length: pieces * 16384,
    name,
    'piece length': 16384,
    pieces: randomBytes(20 * pieces)
  }
  if (options.private) info.private = 1
  const top: Record<string, unknown> = { info }
  if (options.urlList) top['url-list'] = options.urlList
  if (options.announce) top.announce = options.announce
  return { torrentBytes: bencode.encode(top), name }
}

/** More than 16 KiB of info dict: 1,000 pieces -> 20,000 bytes of hashes, two metadata pieces. */
export function makeLargeTorrent (): TestTorrent {
  return makeTorrent({ pieces: 1000 })
}

/**
 * An info dict whose keys are not in sorted order, written byte by byte. Re-encoding it
 * would sort the keys and change the hash, so serving it exactly is the point.
 */
export function makeUnsortedTorrent (): TestTorrent {
  const name = `unsorted-${Math.random().toString(36).slice(2)}.bin`
  const pieces = randomBytes(40)
  const parts: Uint8Array[] = [
    text2arr('d4:infod'),
    text2arr(`4:name${name.length}:${name}`), // "name" before "length": unsorted
    text2arr('6:lengthi32768e'),
    text2arr('12:piece lengthi16384e'),
    text2arr('6:pieces40:'), pieces,
    text2arr('ee')
  ]
  const total = parts.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(total)
  let at = 0
  for (const p of parts) { out.set(p, at); at += p.length }
  return { torrentBytes: out, name }
}
