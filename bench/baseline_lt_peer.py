#!/usr/bin/python3
"""The benchmark baseline: a libtorrent peer set up like the original torrent-fish.

One libtorrent session holds every .torrent under --load-path with upload mode on, seed mode
off, not auto-managed, not paused and every piece at priority 0: it has the metadata and
answers ut_metadata (BEP 9), but never downloads or serves a piece. It listens on
127.0.0.1 only, allows many connections per IP (every load-generator connection comes from
127.0.0.1) and runs no DHT, LSD, UPnP or NAT-PMP (nor uTP unless --utp).

Output, one JSON line each on stdout (the bench reads them):
  {"event": "listening", "port": P}
  {"event": "loaded", "loaded": N, "failed": F, "ms": T}   all add_torrent_alerts received
  {"event": "ready", "ms": T}                               with --wait-ready: every torrent checked
                                                            (until then libtorrent refuses its peers)
Runs until stdin closes or SIGTERM/SIGINT.
"""
import argparse
import json
import os
import signal
import sys
import threading
import time

import libtorrent as lt


def emit(**fields):
    sys.stdout.write(json.dumps(fields) + '\n')
    sys.stdout.flush()


def torrent_paths(root):
    stack = [root]
    while stack:
        d = stack.pop()
        with os.scandir(d) as it:
            for e in it:
                if e.is_dir(follow_symlinks=False):
                    stack.append(e.path)
                elif e.name.endswith('.torrent'):
                    yield e.path


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--load-path', required=True)
    ap.add_argument('--save-path', required=True, help='empty directory (no content is ever written)')
    ap.add_argument('--port', type=int, default=0)
    ap.add_argument('--connections-limit', type=int, default=100000)
    ap.add_argument('--wait-ready', action='store_true', help='also wait until no torrent is checking files')
    ap.add_argument('--no-announce', action='store_true', help='drop the torrents\' trackers (torrent-fish --no-announce)')
    ap.add_argument('--utp', action='store_true', help='also accept and make uTP connections (bench/hostile: UDP floods)')
    args = ap.parse_args()
    started = time.monotonic()

    status = lt.alert_category.status | lt.alert_category.error
    ses = lt.session({
        'listen_interfaces': '127.0.0.1:%d' % args.port,
        'enable_dht': False,
        'enable_lsd': False,
        'enable_upnp': False,
        'enable_natpmp': False,
        'enable_incoming_utp': args.utp,
        'enable_outgoing_utp': args.utp,
        'allow_multiple_connections_per_ip': True,
        'connections_limit': args.connections_limit,
        # libtorrent's default accept backlog is 5: with 128 concurrent connects most SYNs would
        # be dropped and retried after 1 s. Node's default is 511; use the same.
        'listen_queue_size': 511,
        'alert_mask': status,
        'alert_queue_size': 1 << 20,
    })

    port = None
    paths = list(torrent_paths(args.load_path))
    flags = (lt.torrent_flags.default_flags & ~lt.torrent_flags.auto_managed & ~lt.torrent_flags.paused
             & ~lt.torrent_flags.seed_mode) | lt.torrent_flags.upload_mode
    added = failed = checked = 0
    pending = 0

    def drain(timeout_ms):
        nonlocal added, failed, pending, port, checked
        if timeout_ms:
            ses.wait_for_alert(timeout_ms)
        for a in ses.pop_alerts():
            if isinstance(a, lt.add_torrent_alert):
                pending -= 1
                if a.error.value():
                    failed += 1
                else:
                    added += 1
            elif isinstance(a, lt.torrent_checked_alert):
                checked += 1
            elif isinstance(a, lt.listen_succeeded_alert) and port is None:
                port = a.port if hasattr(a, 'port') else ses.listen_port()

    for p in paths:
        try:
            atp = lt.load_torrent_file(p)
        except Exception as err:  # a bad file counts as failed, like torrent-fish's loader
            failed += 1
            print('%s: %s' % (p, err), file=sys.stderr)
            continue
        atp.save_path = args.save_path
        if args.no_announce:
            atp.trackers = []
        atp.flags = flags
        atp.piece_priorities = [0] * atp.ti.num_pieces()
        ses.async_add_torrent(atp)
        pending += 1
        if pending >= 4096:
            drain(0)
    while pending > 0:
        drain(1000)
    while port is None:
        drain(1000)
        if port is None:
            port = ses.listen_port() or None
    emit(event='listening', port=port)
    emit(event='loaded', loaded=added, failed=failed, ms=round((time.monotonic() - started) * 1000, 1))

    if args.wait_ready:
        # A torrent still checking its (absent) files refuses peers: count torrent_checked_alerts.
        while checked < added:
            drain(1000)
        emit(event='ready', ms=round((time.monotonic() - started) * 1000, 1))

    # After loading, keep only errors so the alert queue costs nothing while serving.
    ses.apply_settings({'alert_mask': lt.alert_category.error})
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    threading.Thread(target=lambda: (sys.stdin.read(), stop.set()), daemon=True).start()
    while not stop.is_set():
        ses.wait_for_alert(200)
        ses.pop_alerts()


if __name__ == '__main__':
    main()
