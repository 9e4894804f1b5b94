#!/usr/bin/env python3
"""Load a .torrent file with libtorrent (python3-libtorrent) and describe it as one JSON line:

    lt_load_torrent.py FILE  ->  {"ok": true, "info_hash": ..., "total_size": ..., "files": [{"path", "size", "flags", "symlink"}]}

flags are libtorrent's file_storage flags (1 pad, 4 executable, 8 symlink, 2 hidden). On a
torrent libtorrent refuses: {"ok": false, "error": ...} and exit 1. Used by bep47.test.ts to
prove a hand-built torrent is one libtorrent accepts before torrent-fish is asked to serve it.
"""
import json
import sys

import libtorrent as lt


def main():
    try:
        ti = lt.torrent_info(sys.argv[1])
    except Exception as err:  # libtorrent raises RuntimeError with its parse error
        print(json.dumps({'ok': False, 'error': str(err)}))
        sys.exit(1)
    fs = ti.files()
    files = []
    for i in range(fs.num_files()):
        flags = int(fs.file_flags(i))
        files.append({'path': fs.file_path(i), 'size': fs.file_size(i), 'flags': flags,
                      'symlink': fs.symlink(i) if flags & 8 else None})
    print(json.dumps({'ok': True, 'info_hash': str(ti.info_hashes().v1), 'total_size': ti.total_size(),
                      'num_pieces': ti.num_pieces(), 'files': files}))


main()
