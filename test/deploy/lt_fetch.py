#!/usr/bin/env python3
"""Fetches a torrent's metadata with libtorrent (python3-libtorrent) from one peer over one
transport only, for the container test (test/deploy/container.sh):

    lt_fetch.py --magnet URI --peer HOST:PORT --transport tcp|utp --out INFO_FILE [--timeout S]

--transport tcp turns uTP off both ways, --transport utp turns TCP off both ways, so a success
proves that transport. Writes the info dict bytes libtorrent received (and checked against the
info hash) to --out and prints one JSON line; exits 1 with {"ok": false, ...} on failure. The
session listens on 127.0.0.1 only, with DHT, LSD, UPnP and NAT-PMP off, and stops as soon as
the metadata has arrived (upload mode: it never asks for a piece).
"""
import argparse
import json
import sys
import tempfile
import time

import libtorrent as lt

ap = argparse.ArgumentParser()
ap.add_argument('--magnet', required=True)
ap.add_argument('--peer', required=True)
ap.add_argument('--transport', choices=['tcp', 'utp'], required=True)
ap.add_argument('--out', required=True)
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
params = lt.parse_magnet_uri(args.magnet)
params.save_path = tempfile.mkdtemp(prefix='torrent-fish-lt-')
params.flags |= lt.torrent_flags.upload_mode
params.flags &= ~lt.torrent_flags.auto_managed
params.flags &= ~lt.torrent_flags.paused
start = time.monotonic()
handle = ses.add_torrent(params)
handle.connect_peer((host, int(port)))

log = []
result = None
while result is None and time.monotonic() < start + args.timeout:
    ses.wait_for_alert(200)
    for a in ses.pop_alerts():
        if isinstance(a, lt.metadata_received_alert):
            info = bytes(a.handle.torrent_file().info_section())
            with open(args.out, 'wb') as f:
                f.write(info)
            result = {'ok': True, 'transport': args.transport, 'ms': round((time.monotonic() - start) * 1000),
                      'info_size': len(info), 'info_hash': str(a.handle.torrent_file().info_hash())}
            break
        if isinstance(a, (lt.peer_error_alert, lt.peer_disconnected_alert, lt.metadata_failed_alert)):
            log.append(a.message())
if result is None:
    result = {'ok': False, 'transport': args.transport, 'error': 'no metadata within %gs' % args.timeout, 'log': log}

# Close the connection cleanly (a FIN, over uTP too) so the peer is not left waiting on a timeout.
ses.remove_torrent(handle)
deadline = time.monotonic() + 3
while time.monotonic() < deadline:
    ses.wait_for_alert(100)
    if any(isinstance(a, lt.torrent_removed_alert) for a in ses.pop_alerts()):
        break
ses.pause()
print(json.dumps(result), flush=True)
sys.exit(0 if result['ok'] else 1)
