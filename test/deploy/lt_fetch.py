#!/usr/bin/env python3
"""Fetches torrents' metadata with libtorrent (python3-libtorrent) from one peer over one
transport only, for the container test (test/deploy/container.sh):

    lt_fetch.py --peer HOST:PORT --transport tcp|utp [--timeout S] --fetch MAGNET OUT [--fetch MAGNET OUT ...]

--transport tcp turns uTP off both ways, --transport utp turns TCP off both ways, so a success
proves that transport. For each magnet, writes the info dict bytes libtorrent received (and
checked against the info hash) to OUT and prints one JSON line; exits 1 unless every one
arrived within --timeout. One session for all: the session listens on 127.0.0.1 only, with DHT,
LSD, UPnP and NAT-PMP off, in upload mode (it never asks for a piece).
"""
import argparse
import json
import sys
import tempfile
import time

import libtorrent as lt

ap = argparse.ArgumentParser()
ap.add_argument('--peer', required=True)
ap.add_argument('--transport', choices=['tcp', 'utp'], required=True)
ap.add_argument('--fetch', nargs=2, action='append', required=True, metavar=('MAGNET', 'OUT'))
ap.add_argument('--timeout', type=float, default=30.0)
args = ap.parse_args()

host, port = args.peer.rsplit(':', 1)
tcp = args.transport == 'tcp'
ses = lt.session({
    'listen_interfaces': '127.0.0.1:0',
    'outgoing_interfaces': '127.0.0.1',
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    'enable_outgoing_tcp': tcp,
    'enable_incoming_tcp': tcp,
    'enable_outgoing_utp': not tcp,
    'enable_incoming_utp': not tcp,
    'allow_multiple_connections_per_ip': True,
    'alert_mask': lt.alert.category_t.error_notification | lt.alert.category_t.status_notification
    | lt.alert.category_t.peer_notification | lt.alert.category_t.connect_notification,
})
start = time.monotonic()
pending = {}
for magnet, out in args.fetch:
    params = lt.parse_magnet_uri(magnet)
    params.save_path = tempfile.mkdtemp(prefix='torrent-fish-lt-')
    params.flags |= lt.torrent_flags.upload_mode
    params.flags &= ~lt.torrent_flags.auto_managed
    params.flags &= ~lt.torrent_flags.paused
    handle = ses.add_torrent(params)
    handle.connect_peer((host, int(port)))
    pending[str(handle.info_hash())] = (handle, out, [])

handles = [h for h, _, _ in pending.values()]
ok = True
while pending and time.monotonic() < start + args.timeout:
    ses.wait_for_alert(200)
    for a in ses.pop_alerts():
        key = str(a.handle.info_hash()) if hasattr(a, 'handle') and a.handle.is_valid() else None
        if key not in pending:
            continue
        if isinstance(a, lt.metadata_received_alert):
            _, out, _ = pending.pop(key)
            info = bytes(a.handle.torrent_file().info_section())
            with open(out, 'wb') as f:
                f.write(info)
            print(json.dumps({'ok': True, 'transport': args.transport, 'info_hash': key, 'info_size': len(info),
                              'ms': round((time.monotonic() - start) * 1000)}), flush=True)
        elif isinstance(a, (lt.peer_error_alert, lt.peer_disconnected_alert, lt.metadata_failed_alert)):
            pending[key][2].append(a.message())
for key, (_, _, log) in pending.items():
    ok = False
    print(json.dumps({'ok': False, 'transport': args.transport, 'info_hash': key,
                      'error': 'no metadata within %gs' % args.timeout, 'log': log}), flush=True)

# Close the connections cleanly (a FIN, over uTP too) so the peer is not left waiting on a timeout.
for h in handles:
    ses.remove_torrent(h)
removed = 0
deadline = time.monotonic() + 3
while removed < len(handles) and time.monotonic() < deadline:
    ses.wait_for_alert(100)
    removed += sum(1 for a in ses.pop_alerts() if isinstance(a, lt.torrent_removed_alert))
ses.pause()
sys.exit(0 if ok else 1)
