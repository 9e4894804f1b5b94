#!/usr/bin/env python3
"""A uTP-only libtorrent client for torrent-fish's tests: fetches the metadata of a magnet from
one peer with outgoing and incoming TCP disabled, prints one JSON line, exits 0 on success.

usage: libtorrent-utp.py <magnet> <host> <port> <timeout-seconds>
"""
import json
import sys
import tempfile
import time

import libtorrent as lt

magnet, host, port, timeout = sys.argv[1], sys.argv[2], int(sys.argv[3]), float(sys.argv[4])

session = lt.session({
    'listen_interfaces': '127.0.0.1:0',
    'enable_outgoing_tcp': False,
    'enable_incoming_tcp': False,
    'enable_outgoing_utp': True,
    'enable_incoming_utp': True,
    'enable_dht': False,
    'enable_lsd': False,
    'enable_upnp': False,
    'enable_natpmp': False,
    'allow_multiple_connections_per_ip': True,  # everyone is 127.0.0.1 in tests
    'alert_mask': lt.alert.category_t.status_notification | lt.alert.category_t.error_notification | lt.alert.category_t.peer_notification,
})
params = lt.parse_magnet_uri(magnet)
params.save_path = tempfile.mkdtemp(prefix='torrent-fish-lt-')
handle = session.add_torrent(params)
handle.connect_peer((host, port))

started = time.time()
result = {'ok': False}
while time.time() - started < timeout:
    session.wait_for_alert(200)
    for alert in session.pop_alerts():
        if isinstance(alert, lt.metadata_received_alert):
            info = handle.torrent_file()
            peers = [{'ip': p.ip[0], 'port': p.ip[1]} for p in handle.get_peer_info()]
            result = {'ok': True, 'name': info.name(), 'infoHash': str(info.info_hash()), 'ms': int((time.time() - started) * 1000), 'peers': peers}
        elif isinstance(alert, (lt.peer_error_alert, lt.peer_disconnected_alert)):
            result.setdefault('errors', []).append(alert.message())
    if result['ok']:
        break
print(json.dumps(result), flush=True)
sys.exit(0 if result['ok'] else 1)
