/**
 * Coalesces the writes a Wire makes within one tick into one syscall. bittorrent-protocol
 * pushes every message (and a data message's header and payload) as separate chunks; on a
 * raw socket each became its own write(2): 7 per metadata exchange against libtorrent's 2.
 * Corking until the next tick lets the socket flush them together with writev(2).
 */
import type { Writable } from 'node:stream'

export function coalesceWrites (socket: Writable): void {
  const write = socket.write.bind(socket) as (...args: unknown[]) => boolean
  let corked = false
  const uncork = (): void => {
    corked = false
    socket.uncork()
  }
  socket.write = ((...args: unknown[]): boolean => {
    if (!corked && !socket.destroyed) {
      corked = true
      socket.cork()
      process.nextTick(uncork)
    }
    return write(...args)
  }) as typeof socket.write
}
