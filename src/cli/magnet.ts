/** `torrent-fish magnet FILE...`: print the magnet that works with this peer for each file. */
import { readFile } from 'node:fs/promises'
import { parseTorrent } from '../core/torrent.ts'
import { composeMagnet, magnetWarnings } from '../core/magnet.ts'
import type { Logger, Output } from './log.ts'

export interface MagnetArgs {
  files: string[]
  peer?: string[]
  tracker?: string[]
  xs?: string
}

/** Returns the exit code: 0 if every file produced a magnet, 1 otherwise. */
export async function start (args: MagnetArgs, io: Output, log: Logger): Promise<number> {
  let failed = 0
  for (const file of args.files) {
    try {
      const parsed = await parseTorrent(new Uint8Array(await readFile(file)), file)
      for (const w of magnetWarnings(parsed)) log.warn('magnet-warning', w, { file })
      io.out(composeMagnet(parsed, { peerAddresses: args.peer, extraTrackers: args.tracker, torrentBaseUrl: args.xs }))
    } catch (err) {
      failed += 1
      const message = (err as Error).message
      log.error('magnet-failed', message.includes(file) ? message : `${file}: ${message}`, { file })
    }
  }
  return failed > 0 ? 1 : 0
}
