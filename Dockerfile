# torrent-fish: a metadata-only BitTorrent peer, as a container.
#
#   docker build -t torrent-fish .
#   docker run -d --name torrent-fish -p 6881:6881/tcp -p 6881:6881/udp -p 8080:8080 \
#     -v "$PWD/torrents:/torrents:ro" -v torrent-fish-state:/var/lib/torrent-fish torrent-fish
#
# The entrypoint is the CLI, so arguments are its flags (`docker run IMAGE -l /torrents -p 6881`),
# and every flag can also come from the environment: --foo-bar from TORRENT_FISH_FOO_BAR (a flag
# wins). The defaults below serve /torrents on 6881 (TCP, and uTP + DHT on UDP) with the HTTP
# face (/health, /metrics, /<infohash>.torrent, status page) on 8080. See docs/deploy.md.
#
# BASE is a build argument so a machine without access to an image registry can build from a
# local stand-in with Node 24 (the project's CI does: test/deploy/container.sh).
ARG BASE=node:24-bookworm-slim

# ---- build: all dependencies, then the build, then drop what the runtime does not need ----
FROM ${BASE} AS build
WORKDIR /src
COPY package.json package-lock.json ./
# --ignore-scripts: no dependency needs its install script (utp-native, bufferutil and
# utf-8-validate ship prebuilt binaries that load at run time), and none can then fetch a binary
# from outside the registry. `npm install` rather than `npm ci`: the lockfile lacks rollup's
# per-platform packages (see .ci/setup); the locked versions are used all the same.
RUN npm install --no-audit --no-fund --ignore-scripts
COPY tsconfig.json rollup.config.mjs ./
COPY scripts scripts
COPY src src
ARG WEBRTC=false
RUN npm run build \
 # The runtime needs only Node's ESM in dist/: no source maps, declarations or browser bundles.
 && rm -rf dist/browser \
 && find dist \( -name '*.map' -o -name '*.d.ts' \) -delete \
 && npm prune --omit=dev --no-audit --no-fund --ignore-scripts \
 # Node WebRTC (@roamhq/wrtc, 26 MB) is optional: without it --ws-tracker serves TCP/uTP only and
 # says so once. Build with --build-arg WEBRTC=true to keep it.
 && if [ "$WEBRTC" != true ]; then rm -rf node_modules/@roamhq; fi \
 && rm -f node_modules/.package-lock.json

# ---- runtime: Node, the production dependencies, dist/ and the CLI launcher ----
FROM ${BASE}
# The compile cache (bin/compile-cache.js) in the state volume, so a restarted container skips
# compiling the CLI again.
ENV NODE_ENV=production \
    TORRENT_FISH_LOAD_PATH=/torrents \
    TORRENT_FISH_PORT=6881 \
    TORRENT_FISH_HTTP=8080 \
    TORRENT_FISH_STATE_DIR=/var/lib/torrent-fish \
    NODE_COMPILE_CACHE=/var/lib/torrent-fish/compile-cache
WORKDIR /app
# Owned by root and read-only to the service user: the process cannot rewrite its own code.
COPY --from=build /src/package.json ./
COPY --from=build /src/node_modules node_modules
COPY --from=build /src/dist dist
COPY bin bin
COPY deploy/healthcheck.mjs deploy/healthcheck.mjs
RUN mkdir -p /torrents /var/lib/torrent-fish && chown 1000:1000 /var/lib/torrent-fish
# Numeric, so orchestrators that insist on a non-root user (runAsNonRoot) can check it.
USER 1000:1000
VOLUME ["/torrents", "/var/lib/torrent-fish"]
# One port number for TCP and UDP (uTP and the DHT share the UDP socket); 8080 is the HTTP face.
EXPOSE 6881/tcp 6881/udp 8080/tcp
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["node", "/app/deploy/healthcheck.mjs"]
# --max-semi-space-size=8 (MiB): a small young generation from the first allocation (the CLI also
# stops its growth itself, src/node/young-generation.ts); docs/deploy.md's figures use it.
ENTRYPOINT ["node", "--max-semi-space-size=8", "/app/bin/torrent-fish.js"]
