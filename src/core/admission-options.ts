/**
 * Admission's knobs (src/core/admission.ts) and their defaults, each with the reason for its
 * value: a deployment tunes these, the policy itself does not change with them.
 */
export interface AdmissionOptions {
  /** Open connections at most. */
  connectionLimit: number
  /** Open connections from one IP at most (handshaken or not). */
  perIpLimit: number
  /** Pre-handshake deadline while the table is less than half full. */
  handshakeTimeoutMs: number
  /** Pre-handshake deadline once it is half full (never longer than handshakeTimeoutMs). */
  pressureHandshakeTimeoutMs: number
  /** Half-open connections from one IP at most. */
  halfOpenPerIp: number
  /** Half-open connections from one /24 (IPv4) or /64 (IPv6) at most. */
  halfOpenPerSubnet: number
  /** Half-open uTP connections at most, as a share of connectionLimit (spoofable SYNs). */
  utpHalfOpenShare: number
  /** A handshaken connection idle this long with nothing outstanding may be evicted. */
  evictIdleAfterMs: number
  /**
   * TCP connections that had done nothing (still half-open, or handshaken with nothing to ask)
   * evicted or timed out per second from one subnet before that subnet's newcomers are refused
   * while the table is at least half full (before any protocol object is built for them).
   */
  unproductivePerSubnetPerSecond: number
  /** Diffie-Hellman operations (MSE) per second overall. */
  keyExchangesPerSecond: number
  /** Diffie-Hellman operations per second from one subnet. */
  keyExchangesPerSubnetPerSecond: number
  /**
   * Connections that have done nothing yet (not handshaken, or handshaken and never asked) from
   * one subnet that was never served here, at most, while the table is at least half full; its
   * further newcomers are refused before anything is built for them (default in ADMISSION_DEFAULTS).
   */
  idlePerNewSubnet?: number
  /**
   * Incoming TCP connections closed for a protocol fault (FAULT_REASONS) per second from one
   * subnet before that subnet's newcomers are refused, whatever the table holds (default in
   * ADMISSION_DEFAULTS).
   */
  faultsPerSubnetPerSecond?: number
}

/**
 * Defaults, each with its reason. Half-open caps are small because a correct peer's
 * handshake takes one round trip, so even a large NAT rarely has more than a few at once.
 */
export const ADMISSION_DEFAULTS: Required<Omit<AdmissionOptions, 'connectionLimit' | 'perIpLimit' | 'handshakeTimeoutMs'>> = {
  /** Two seconds covers a handshake over a slow mobile link with retransmits. */
  pressureHandshakeTimeoutMs: 2_000,
  halfOpenPerIp: 16,
  halfOpenPerSubnet: 64,
  /** A quarter of the table: uTP leechers still get in, a SYN flood cannot fill it. */
  utpHalfOpenShare: 0.25,
  /** A metadata exchange takes well under a second; one quiet second means it is done. */
  evictIdleAfterMs: 1_000,
  /**
   * A correct leecher handshakes within a round trip and then asks, so it is never evicted
   * half-open or for having nothing to ask; a peer that only connects (it has the torrent and
   * wants pieces we never have) is evicted once and comes back minutes later. A network
   * churning more than this through a full table is flooding it.
   */
  unproductivePerSubnetPerSecond: 2,
  /**
   * ~0.3 ms each with the Node key exchange (idle machine): at most ~8% of one core on
   * garbage openers. Real MSE leechers are a minority of connections and retry.
   */
  keyExchangesPerSecond: 250,
  /** One network gets a tenth of the overall budget. */
  keyExchangesPerSubnetPerSecond: 25,
  /**
   * A flood opens its connections all at once from each of its networks, and every one admitted
   * into a full table costs a socket, a session and the close of the connection it evicted
   * before its network has been charged anything (~1,300 of a 2,000-connection burst from 250
   * /24s were built). A leecher's connection does nothing for one round trip at most, so even
   * a new network with two exchanges in flight gets in; a network that was served before is
   * never held to this.
   */
  idlePerNewSubnet: 2,
  /**
   * A correct peer never breaks the protocol; a buggy client behind a NAT that reconnects after
   * each close still gets two attempts a second. A network sending malformed or oversized
   * frames in a loop otherwise costs a socket, a session and a close per frame, as fast as it
   * can reconnect (~10,000 a second from 64 connections in the bench's oversize flood).
   */
  faultsPerSubnetPerSecond: 2
}
