#!/usr/bin/env python3
"""Sizes of an image's own layers, for the container test: reads `docker save IMAGE` on stdin
and prints {"layers", "bytes", "gzip"} for the layers that are not the base image's.

usage: docker save IMAGE | layer-sizes.py BASE_DIFF_ID...

A layer is the base's when the SHA-256 of its tar (its diff id) is among the base's
(`docker image inspect -f '{{json .RootFS.Layers}}' BASE`). "gzip" is what gzip's default level
makes of those layers, i.e. their share of `docker save IMAGE | gzip`; only they are
compressed, so measuring takes seconds instead of compressing the whole Node base again.
"""
import hashlib
import json
import sys
import tarfile
import zlib

base = set(sys.argv[1:])
own = {'layers': 0, 'bytes': 0, 'gzip': 0}
with tarfile.open(fileobj=sys.stdin.buffer, mode='r|') as tar:
    for member in tar:
        if not member.isfile() or not member.name.endswith('layer.tar'):
            continue
        data = tar.extractfile(member).read()
        if 'sha256:' + hashlib.sha256(data).hexdigest() in base:
            continue
        gz = zlib.compressobj(6, zlib.DEFLATED, 31)
        own['layers'] += 1
        own['bytes'] += len(data)
        own['gzip'] += len(gz.compress(data)) + len(gz.flush())
print(json.dumps(own))
