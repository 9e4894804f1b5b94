#!/usr/bin/env python3
"""Fetch a torrent's metadata with libtorrent (python3-libtorrent) from a magnet alone.

    lt_magnet.py --magnet URI [--timeout SECONDS]

The magnet names a tracker (tr=) and no peer: libtorrent must find the metadata peer through
the tracker. DHT, LSD, UPnP and NAT-PMP are off and the session listens on 127.0.0.1 only.
Prints one JSON line: {"ok": true, "info_hash": ..., "info_size": ..., "peer": "ip:port"} or
{"ok": false, "error": ...} and exits 1.
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
    ap.add_argument('--timeout', type=float, default=30.0)
    args = ap.parse_args()
    ses = lt.session({
        'listen_interfaces': '127.0.0.1:0',
        'outgoing_interfaces': '127.0.0.1',
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'allow_multiple_connections_per_ip': True,
        'enable_outgoing_utp': False,
        'enable_incoming_utp': False,
        'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification
        | lt.alert.category_t.tracker_notification,
    })
    params = lt.parse_magnet_uri(args.magnet)
    params.save_path = tempfile.mkdtemp(prefix='torrent-fish-lt-')
    params.flags |= lt.torrent_flags.upload_mode
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    handle = ses.add_torrent(params)
    deadline = time.monotonic() + args.timeout
    log = []
    while time.monotonic() < deadline:
        ses.wait_for_alert(200)
        for a in ses.pop_alerts():
            name = type(a).__name__
            if 'tracker' in name or 'error' in name:
                log.append('%s: %s' % (name, a.message()))
            if name == 'metadata_received_alert':
                ti = a.handle.torrent_file()
                peers = ['%s:%d' % tuple(p.ip) for p in a.handle.get_peer_info()]
                print(json.dumps({'ok': True, 'info_hash': str(ti.info_hash()), 'info_size': len(bytes(ti.info_section())), 'peers': peers}))
                sys.stdout.flush()
                ses.remove_torrent(handle)
                return 0
    print(json.dumps({'ok': False, 'error': 'no metadata within %ss' % args.timeout, 'log': log[-20:]}))
    return 1


if __name__ == '__main__':
    sys.exit(main())
