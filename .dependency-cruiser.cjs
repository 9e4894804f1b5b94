/**
 * The rooms' rules, checked by dependency-cruiser (test/architecture/dependencies.test.ts runs
 * it under `npm test`): no import circles anywhere in src/, the core imports nothing outside
 * the core (and nothing of Node), and the isomorphic rooms (core, announce, util, the WebRTC
 * pieces of transport) stay free of Node built-ins so the browser bundle can hold them.
 */
const NODE_ONLY = '^(node:|fs|net|dgram|os|path|http|https|crypto|child_process|module|tls|zlib|worker_threads|stream)$'
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import circle means two rooms own each other: split the shared piece out, or declare a narrow interface on the consuming side.',
      from: { path: '^src/' },
      // A cycle made only of `import type` between a contract and its implementation (core's
      // PeerSession <-> PeerConnection) is erased at build time and is allowed; any other is not.
      to: { circular: true, viaOnly: { dependencyTypesNot: ['type-only'] } }
    },
    {
      name: 'entries-are-leaves',
      severity: 'error',
      comment: 'src/index.ts, node.ts and browser.ts are the public API (docs/api.md) and nothing else: modules import each other directly, so narrowing the API never breaks the inside.',
      from: { path: '^src/', pathNot: '^src/(index|node|browser)\\.ts$' },
      to: { path: '^src/(index|node|browser)\\.ts$' }
    },
    {
      name: 'core-imports-only-core',
      severity: 'error',
      comment: 'src/core is isomorphic and the base of every room: it imports nothing from the other rooms.',
      from: { path: '^src/core/' },
      to: { path: '^src/', pathNot: '^src/(core|types)/' }
    },
    {
      name: 'core-no-node',
      severity: 'error',
      comment: 'src/core runs in browsers too: no Node built-ins.',
      from: { path: '^src/core/' },
      // `events` is the isomorphic EventEmitter (the npm package in the browser bundle).
      to: { dependencyTypes: ['core'], pathNot: '^events$' }
    },
    {
      name: 'isomorphic-rooms-no-node',
      severity: 'error',
      comment: 'announce/ and util/ (and the WebRTC files of transport/) go into the browser bundle: no Node built-ins.',
      from: { path: '^src/(announce|util)/|^src/transport/webrtc-|^src/browser\\.ts$|^src/index\\.ts$' },
      to: { dependencyTypes: ['core'], pathNot: '^events$' }
    },
    {
      name: 'isomorphic-rooms-stay-isomorphic',
      severity: 'error',
      comment: 'announce/ and util/ import only isomorphic rooms.',
      from: { path: '^src/(announce|util)/' },
      to: { path: '^src/', pathNot: '^src/(core|announce|util|types)/' }
    },
    {
      name: 'parts-never-import-the-service',
      severity: 'error',
      comment: 'Parts declare the narrow interface they need in their own folder instead of importing the service.',
      from: { path: '^src/(http|discovery|transport|announce|util|adapters|sources)/' },
      to: { path: '^src/node/torrent-fish\\.ts$' }
    },
    {
      name: 'transport-not-above-itself',
      severity: 'error',
      comment: 'Transports are below discovery and the service: they never import them.',
      from: { path: '^src/transport/' },
      to: { path: '^src/(node|discovery|http|cli)/' }
    }
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] }
  }
}
