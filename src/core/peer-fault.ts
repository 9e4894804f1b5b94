/**
 * A reason to close one connection, raised from deep inside code that runs on received
 * bytes (the Wire's parser, MSE, an extension). The Wire's fault net turns it, and any
 * other throw, into a close of that connection with `{reason, op}`: a peer's bytes can end
 * its own connection, never the process.
 */
export class PeerFault extends Error {
  readonly reason: string
  readonly op: string
  constructor (reason: string, op: string, message: string) {
    super(message)
    this.name = 'PeerFault'
    this.reason = reason
    this.op = op
  }
}
