#!/usr/bin/env bash
# The test command (npm test). Runs every suite with Node's test runner.
# Chromium never gathers loopback ICE candidates, so the whole run happens inside a network
# namespace this script creates (loopback plus a private veth pair): tests reach nothing
# outside it. Without the rights to create one (not root), it runs in place.
set -euo pipefail
cd "$(dirname "$0")/.."

# test/package/ installs the packed tarball from the npm registry, which the namespace cannot
# reach: those files run first, in place (they listen on loopback only), the rest as below.
if [ -z "${TF_IN_NETNS:-}" ] && [ -z "${TF_PACKAGE_DONE:-}" ]; then
  requested=("$@")
  if [ ${#requested[@]} -eq 0 ]; then mapfile -t requested < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort); fi
  pkg=() rest=()
  for f in "${requested[@]}"; do case "$f" in test/package/*|./test/package/*) pkg+=("$f") ;; *) rest+=("$f") ;; esac; done
  if [ ${#pkg[@]} -gt 0 ]; then
    status=0
    node --test --test-force-exit --test-timeout="${TEST_TIMEOUT_MS:-240000}" "${pkg[@]}" || status=$?
    if [ ${#rest[@]} -gt 0 ]; then TF_PACKAGE_DONE=1 bash test/run.sh "${rest[@]}" || status=$?; fi
    exit $status
  fi
fi

if [ -z "${TF_IN_NETNS:-}" ] && [ "$(id -u)" = 0 ] && command -v unshare >/dev/null && unshare -n true 2>/dev/null; then
  export TF_IN_NETNS=1
  exec unshare -n bash -c '
    ip link set lo up
    ip link add tfv0 type veth peer name tfv1
    ip addr add 10.213.0.1/24 dev tfv0
    ip addr add 10.213.0.2/24 dev tfv1
    ip link set tfv0 up
    ip link set tfv1 up
    ip route add default via 10.213.0.2 dev tfv0
    exec bash test/run.sh "$@"' -- "$@"
fi

files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  mapfile -t files < <(find test -name '*.test.ts' -not -path '*/node_modules/*' | sort)
fi
# --test-force-exit: a file whose handles outlive its tests must not hang the whole run.
exec node --test --test-force-exit --test-concurrency="${TEST_CONCURRENCY:-2}" --test-timeout="${TEST_TIMEOUT_MS:-240000}" "${files[@]}"
