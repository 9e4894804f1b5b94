#!/usr/bin/env python3
"""Fetch a torrent's metadata with libtorrent (python3-libtorrent) from one given peer.

Used by test/interop/libtorrent.test.ts against a torrent-fish CLI child process:

    lt_fetch_metadata.py --magnet URI --peer 127.0.0.1:PORT --out INFO_FILE
                         [--encryption forced] [--utp] [--timeout SECONDS]

Writes the received info dict bytes (libtorrent's own copy: torrent_info.info_section()) to
--out and prints one JSON line: {"ok": true, "ms": ..., "info_size": ..., "peer": {...}}.
On failure prints {"ok": false, "error": ..., "log": [...]} and exits 1. Only loopback: the
session listens on 127.0.0.1:0 with DHT, LSD, UPnP and NAT-PMP off, and exits as soon as the
metadata arrives, so it never downloads content.
"""
import argparse
import json
import sys
import tempfile
import time

import libtorrent as lt


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--magnet', required=True)
    ap.add_argument('--peer', required=True, help='host:port of the metadata peer')
    ap.add_argument('--out', required=True, help='file to write the info dict bytes to')
    ap.add_argument('--encryption', choices=['enabled', 'forced'], default='enabled',
                    help='forced: RC4-only MSE in and out (proves the peer accepts encrypted connections)')
    ap.add_argument('--utp', action='store_true',
                    help='let libtorrent dial uTP first (its default); off by default because a peer '
                         'without a uTP listener costs a multi-second uTP timeout before TCP')
    ap.add_argument('--timeout', type=float, default=30.0)
    args = ap.parse_args()

    host, port = args.peer.rsplit(':', 1)
    policy = lt.enc_policy.forced if args.encryption == 'forced' else lt.enc_policy.enabled
    settings = {
        'listen_interfaces': '127.0.0.1:0',
        'outgoing_interfaces': '127.0.0.1',
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        # Every test peer is 127.0.0.1; libtorrent's default of one connection per IP would
        # drop a second one.
        'allow_multiple_connections_per_ip': True,
        'enable_outgoing_utp': args.utp,
        'enable_incoming_utp': args.utp,
        'out_enc_policy': policy,
        'in_enc_policy': policy,
        'allowed_enc_level': lt.enc_level.rc4 if args.encryption == 'forced' else lt.enc_level.both,
        'prefer_rc4': args.encryption == 'forced',
        'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification
        | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification,
    }
    ses = lt.session(settings)
    save = tempfile.mkdtemp(prefix='torrent-fish-lt-')
    params = lt.parse_magnet_uri(args.magnet)
    params.save_path = save
    # upload_mode: never request pieces, even from a web seed, while we wait for the metadata.
    params.flags |= lt.torrent_flags.upload_mode
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    start = time.monotonic()
    handle = ses.add_torrent(params)
    handle.connect_peer((host, int(port)))

    log = []
    peer = {}
    deadline = start + args.timeout
    while time.monotonic() < deadline:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            name = type(a).__name__
            if name in ('peer_connect_alert', 'peer_disconnected_alert', 'peer_error_alert',
                        'metadata_failed_alert', 'torrent_error_alert', 'peer_blocked_alert'):
                log.append('%s: %s' % (name, a.message()))
            if name == 'metadata_received_alert':
                ms = round((time.monotonic() - start) * 1000)
                ti = a.handle.torrent_file()
                info = bytes(ti.info_section())
                with open(args.out, 'wb') as f:
                    f.write(info)
                for p in a.handle.get_peer_info():
                    peer = {
                        'ip': '%s:%d' % tuple(p.ip),
                        'client': p.client.decode('utf-8', 'replace') if isinstance(p.client, bytes) else p.client,
                        'rc4': bool(p.flags & lt.peer_info.rc4_encrypted),
                        'plaintext_encrypted': bool(p.flags & lt.peer_info.plaintext_encrypted),
                        'downloaded_payload': p.total_download,
                    }
                print(json.dumps({'ok': True, 'ms': ms, 'info_size': len(info),
                                  'info_hash': str(ti.info_hash()), 'peer': peer, 'log': log}))
                sys.stdout.flush()
                close(ses, handle)
                return 0
    print(json.dumps({'ok': False, 'error': 'no metadata within %ss' % args.timeout, 'log': log}))
    close(ses, handle)
    return 1


def close(ses, handle):
    """Closes the peer connections cleanly (FIN, also over uTP) before the process exits, so
    the peer sees the close at once instead of waiting for a uTP timeout."""
    ses.remove_torrent(handle)
    deadline = time.monotonic() + 3
    while time.monotonic() < deadline:
        ses.wait_for_alert(100)
        if any(type(a).__name__ == 'torrent_removed_alert' for a in ses.pop_alerts()):
            break
    ses.pause()
    del ses


if __name__ == '__main__':
    sys.exit(main())
