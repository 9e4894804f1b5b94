/**
 * Every limit torrent-fish enforces, in one place, each with the reason for its value.
 * Options override the ones a deployment may want to tune; the rest are protocol facts.
 */

/** BEP 9: metadata is exchanged in 16 KiB pieces; only the last may be shorter. */
export const METADATA_PIECE_SIZE = 16 * 1024

/**
 * Largest info dictionary we load. BEP 9 sets no cap; libtorrent refuses metadata above
 * ~3-4 MiB and ut_metadata above 10 MB, so anything larger could never be fetched anyway.
 */
export const MAX_INFO_SIZE = 10 * 1024 * 1024

/** Largest .torrent file we read: the info cap plus generous room for trackers and comments. */
export const MAX_TORRENT_FILE_SIZE = 16 * 1024 * 1024

/**
 * Largest wire message we buffer from a peer. We never request pieces, so the biggest
 * legitimate message is a bitfield (a 1M-piece torrent needs 125 KiB) or an extended
 * handshake; anything above this is a peer trying to make us buffer memory.
 */
export const MAX_MESSAGE_SIZE = 256 * 1024

/** Time for a peer to complete MSE and the BitTorrent handshake; libtorrent uses 10 s too. */
export const HANDSHAKE_TIMEOUT_MS = 10_000

/**
 * A peer that sends nothing for this long is dropped. BEP 3 keep-alives come every two
 * minutes at most, and a metadata exchange takes well under a second, so an idle peer
 * has what it came for or is holding a slot.
 */
export const IDLE_TIMEOUT_MS = 120_000

/** Default global connection cap: the original torrent-fish's `--connections_limit`. */
export const DEFAULT_CONNECTION_LIMIT = 800

/**
 * Default connections from one IP address. Never 1: NATs, CGNAT and loopback tests put many
 * clients behind one address; this only stops a single host from taking every slot.
 */
export const DEFAULT_PER_IP_LIMIT = 256

/**
 * Outstanding ut_metadata requests we queue per connection, beyond one per metadata piece.
 * WebTorrent asks for every piece at once; a peer asking for far more is flooding.
 */
export const REQUEST_QUEUE_SLACK = 16

/**
 * Full copies of the metadata one connection may fetch before we close it. A leecher needs
 * one; re-fetching forever would make us a free amplifier.
 */
export const MAX_METADATA_COPIES_PER_CONNECTION = 4

/**
 * Default bytes of info dicts kept in memory when they are read from files on demand
 * (`--cache-size`). Sized for a 256 MiB machine: 100k torrents and the rest of the process
 * take ~200 MiB, and the info dicts peers ask for again and again (a few popular torrents)
 * fit in far less; a miss costs one file read.
 */
export const DEFAULT_INFO_CACHE_BYTES = 32 * 1024 * 1024

/** BEP 20 style client prefix for our peer id: -TF0100- = torrent-fish 0.1.0. */
export const PEER_ID_PREFIX = '-TF0100-'

/** Client name sent as `v` in the extended handshake (BEP 10). */
export const CLIENT_NAME = 'torrent-fish 0.1.0'
