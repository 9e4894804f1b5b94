/**
 * The public API, pinned: the names each entry point exports (sources, built files, the
 * script-tag global, the declarations) and package.json "exports". Adding or removing a name
 * fails here until this list and docs/api.md are updated together: the API is what is
 * documented, nothing leaks out by accident.
 *
 * And the shipped declarations, as a consumer's compiler sees them:
 * - dist/node.d.ts and dist/index.d.ts compile under `strict` (nodenext, no skipLibCheck) with
 *   only @types/node, dist/browser.d.ts with no types at all and the DOM lib; never with the
 *   ambient declarations this repository compiles against (src/types/);
 * - no type reachable from an export (walked through public members, signatures, base types,
 *   type arguments) is declared by another package's internals: bittorrent-protocol's Wire,
 *   streamx's streams, the adapters over bittorrent-tracker/-dht/-lsd, our Wire subclass.
 *
 * It reads dist/ (`npm run build` first; it fails if dist/ is older than src/). No network:
 * it lives in test/package/ only to run next to the packed-tarball test.
 */
import { test, before } from 'node:test'
import assert from 'node:assert/strict'
import { readFile, readdir, stat } from 'node:fs/promises'
import { existsSync } from 'node:fs'
import path from 'node:path'
import vm from 'node:vm'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { writeFile } from 'node:fs/promises'
import ts from 'typescript'
import { tmpDir } from '../fixtures/tmp.ts'

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..')
const DIST = path.join(REPO, 'dist')

// ---- the pinned surface (docs/api.md documents each of these) ----

const ERRORS = ['ClosedError', 'DuplicateTorrentError', 'InvalidOptionError', 'InvalidTorrentError', 'TorrentFishError']
const PLATFORM_ERRORS = ['NegotiationError', 'TrackerBadResponseError', 'TrackerRefusedError', 'TrackerUnreachableError', 'TransportUnavailableError', 'UnsupportedTrackerError']
const NEUTRAL_VALUES = [...ERRORS, 'MetadataPeer', 'composeMagnet', 'limits', 'magnetWarnings', 'parseTorrent']
const NEUTRAL_TYPES = [
  'AddTorrentOptions', 'ByteStream', 'CloseInfo', 'ConnectionInfo', 'ConnectionSink', 'DialAddress', 'DialOptions',
  'ListeningAddress', 'MagnetOptions', 'MetadataPeerEvents', 'MetadataPeerOptions', 'MetadataServedEvent', 'ParsedTorrent',
  'PeerClosedEvent', 'PeerConnection', 'PeerSummary', 'StatsSnapshot', 'TorrentCounters', 'TorrentFileReader', 'TorrentRecord',
  'TorrentStoreOptions', 'Transport', 'TransportCounters', 'TransportName', 'Warning'
]
const WEBRTC_TYPES = ['NegotiationClosedEvent', 'RtcImplementation', 'TrackerState', 'TrackerStatus', 'WebRtcEvents', 'WebRtcPoolOptions', 'WebRtcStats', 'WebRtcView']

const SURFACE: Record<'index' | 'node' | 'browser', { values: string[], types: string[] }> = {
  index: { values: NEUTRAL_VALUES, types: NEUTRAL_TYPES },
  node: {
    values: [...NEUTRAL_VALUES, ...PLATFORM_ERRORS, 'DhtError', 'ListenError', 'SourceError', 'TorrentFish', 'createTorrentFish'],
    types: [...NEUTRAL_TYPES, ...WEBRTC_TYPES, 'DiscoveryOptions', 'DiscoveryStatus', 'DiscoveryView', 'HeaderGate', 'HeaderGateEvent', 'HeaderGateOptions', 'HttpFace', 'HttpOptions',
      'ListeningTransport', 'NodeWebRtcOptions', 'SourcesOptions', 'TorrentAnnounceStatus', 'TorrentFishOptions', 'TrackerReport',
      'WebSeedChecks', 'WebSeedHealthOptions', 'WebSeedState', 'WebSeedStatus', 'WebSeedUrlCheck']
  },
  browser: {
    values: [...NEUTRAL_VALUES, ...PLATFORM_ERRORS, 'BrowserPeer', 'createBrowserPeer'],
    types: [...NEUTRAL_TYPES, ...WEBRTC_TYPES, 'BrowserPeerOptions', 'WebSocketConstructor', 'WebSocketLike']
  }
}

/** `limits`: the named protocol constants (src/core/constants.ts), each documented with its reason. */
const LIMITS = ['CLIENT_NAME', 'DEFAULT_CONNECTION_LIMIT', 'DEFAULT_INFO_CACHE_BYTES', 'DEFAULT_PER_IP_LIMIT', 'HANDSHAKE_TIMEOUT_MS', 'IDLE_TIMEOUT_MS',
  'MAX_INFO_SIZE', 'MAX_MESSAGE_SIZE', 'MAX_METADATA_COPIES_PER_CONNECTION', 'MAX_TORRENT_FILE_SIZE', 'METADATA_PIECE_SIZE', 'PEER_ID_PREFIX', 'REQUEST_QUEUE_SLACK']

const EXPORTS_MAP = {
  '.': {
    browser: { types: './dist/browser.d.ts', default: './dist/browser/torrent-fish.js' },
    types: './dist/node.d.ts',
    node: { require: './dist/require.cjs', default: './dist/node.js' },
    default: './dist/index.js'
  },
  './package.json': './package.json',
  './browser': { types: './dist/browser.d.ts', default: './dist/browser/torrent-fish.js' },
  './browser.min.js': './dist/browser/torrent-fish.min.js'
}

// ---- helpers ----

const sorted = (names: Iterable<string>): string[] => [...names].sort()
const diff = (got: string[], want: string[]): string => {
  const added = got.filter(n => !want.includes(n))
  const removed = want.filter(n => !got.includes(n))
  return `${added.length ? `exported but not pinned: ${added.join(', ')}` : ''}${added.length && removed.length ? '; ' : ''}${removed.length ? `pinned but not exported: ${removed.join(', ')}` : ''}` +
    ' (update test/package/api-surface.test.ts and docs/api.md together)'
}
function assertNames (got: Iterable<string>, want: string[], what: string): void {
  const g = sorted(got)
  assert.deepEqual(g, sorted(want), `${what}: ${diff(g, want)}`)
}

async function newestMtime (dir: string): Promise<number> {
  let newest = 0
  for (const entry of await readdir(dir, { recursive: true })) {
    const s = await stat(path.join(dir, entry))
    if (s.isFile()) newest = Math.max(newest, s.mtimeMs)
  }
  return newest
}

before(async () => {
  const [src, built] = await Promise.all([newestMtime(path.join(REPO, 'src')), stat(path.join(DIST, 'node.d.ts')).then(s => s.mtimeMs, () => 0)])
  assert.ok(built >= src, 'dist/ is older than src/ (or missing): run `npm run build` first')
})

// ---- runtime names ----

test('the source entry points export exactly the pinned names', async () => {
  for (const name of ['index', 'node', 'browser'] as const) {
    const m = await import(pathToFileURL(path.join(REPO, 'src', `${name}.ts`)).href)
    assertNames(Object.keys(m), SURFACE[name].values, `src/${name}.ts`)
    assertNames(Object.keys(m.limits), LIMITS, `src/${name}.ts limits`)
  }
})

test('the built entry points and the script-tag global export exactly the pinned names', async () => {
  const built = { index: 'index.js', node: 'node.js', browser: 'browser/torrent-fish.js' } as const
  for (const [name, file] of Object.entries(built) as Array<[keyof typeof built, string]>) {
    const m = await import(pathToFileURL(path.join(DIST, file)).href)
    assertNames(Object.keys(m), SURFACE[name].values, `dist/${file}`)
    assertNames(Object.keys(m.limits), LIMITS, `dist/${file} limits`)
  }
  // The IIFE in a bare context with only what a page has that Node's vm lacks by default.
  const context = vm.createContext({ TextEncoder, TextDecoder, crypto, console })
  vm.runInContext(await readFile(path.join(DIST, 'browser', 'torrent-fish.min.js'), 'utf8'), context)
  assert.deepEqual(Object.keys(context).filter(k => !['TextEncoder', 'TextDecoder', 'crypto', 'console'].includes(k)), ['TorrentFish'], 'one global, TorrentFish')
  assertNames(Object.keys(context.TorrentFish), SURFACE.browser.values, 'global TorrentFish of dist/browser/torrent-fish.min.js')
  // require() of the Node entry (where Node can) gives the same names.
  const { createRequire } = await import('node:module')
  try {
    assertNames(Object.keys(createRequire(import.meta.url)(path.join(DIST, 'require.cjs'))).filter(k => k !== '__esModule' && k !== 'module.exports'), SURFACE.node.values, 'require()')
  } catch (err) {
    if ((err as { code?: string }).code !== 'ERR_TORRENT_FISH_ESM_ONLY') throw err
  }
})

test('package.json "exports" is the pinned map and every target is built', async () => {
  const pkg = JSON.parse(await readFile(path.join(REPO, 'package.json'), 'utf8'))
  assert.deepEqual(pkg.exports, EXPORTS_MAP, 'package.json "exports" changed: update this test and docs/api.md')
  const targets: string[] = []
  const collect = (v: unknown): void => { if (typeof v === 'string') targets.push(v); else for (const x of Object.values(v as object)) collect(x) }
  collect(pkg.exports)
  for (const t of targets) assert.ok(existsSync(path.join(REPO, t)), `exports names ${t}, which the build did not make`)
  assert.equal(pkg.types, './dist/node.d.ts')
  assert.equal(pkg.main, './dist/node.js')
})

// ---- declarations ----

interface Program { program: ts.Program, checker: ts.TypeChecker }

function compile (rootNames: string[], options: ts.CompilerOptions): Program {
  const program = ts.createProgram(rootNames, {
    strict: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2023,
    noEmit: true,
    skipLibCheck: false,
    // Only the real @types: never src/types/, the ambient declarations the repository compiles against.
    typeRoots: [path.join(REPO, 'node_modules', '@types')],
    ...options
  })
  return { program, checker: program.getTypeChecker() }
}

function diagnostics (p: Program): string {
  return ts.formatDiagnostics(ts.getPreEmitDiagnostics(p.program), {
    getCanonicalFileName: f => f, getCurrentDirectory: () => REPO, getNewLine: () => '\n'
  })
}

const nodeProgram = (): Program => compile([path.join(DIST, 'node.d.ts'), path.join(DIST, 'index.d.ts')], { types: ['node'], lib: ['lib.es2023.d.ts'] })
const browserProgram = (): Program => compile([path.join(DIST, 'browser.d.ts')], { types: [], lib: ['lib.es2023.d.ts', 'lib.dom.d.ts', 'lib.dom.iterable.d.ts'] })

test('the shipped declarations compile strictly without skipLibCheck and without the repository\'s ambient declarations', () => {
  const node = nodeProgram()
  assert.equal(diagnostics(node), '', 'dist/node.d.ts + dist/index.d.ts (strict, nodenext, @types/node only)')
  const browser = browserProgram()
  assert.equal(diagnostics(browser), '', 'dist/browser.d.ts (strict, nodenext, types: [], DOM lib)')
  for (const p of [node, browser]) {
    for (const sf of p.program.getSourceFiles()) assert.ok(!sf.fileName.startsWith(path.join(REPO, 'src')), `${sf.fileName}: declarations must not come from src/`)
  }
  const nodeTypesInBrowser = browser.program.getSourceFiles().filter(sf => sf.fileName.includes('/@types/node/')).map(sf => sf.fileName)
  assert.deepEqual(nodeTypesInBrowser, [], 'the browser declarations need nothing from @types/node')
})

function exportNames (p: Program, file: string): Map<string, ts.Symbol> {
  const sf = p.program.getSourceFile(file)
  assert.ok(sf, file)
  const mod = p.checker.getSymbolAtLocation(sf)
  assert.ok(mod, `${file} is a module`)
  return new Map(p.checker.getExportsOfModule(mod).map(s => [s.name, s]))
}

test('the declarations export exactly the pinned names', () => {
  const node = nodeProgram()
  const browser = browserProgram()
  for (const [name, p] of [['index', node], ['node', node], ['browser', browser]] as const) {
    const names = exportNames(p, path.join(DIST, `${name}.d.ts`))
    assertNames(names.keys(), [...SURFACE[name].values, ...SURFACE[name].types], `dist/${name}.d.ts`)
  }
})

/**
 * Files whose declarations are other packages' internals (or our wrappers of them): a public
 * type must never lead there. Node's own types and the standard library are fine; so is the
 * shipped `events` shim (Node's EventEmitter API, for consumers without @types/node).
 */
function forbidden (file: string): string | undefined {
  const rel = path.relative(REPO, file)
  if (rel.startsWith('dist/types/') && rel !== 'dist/types/events.d.ts') return `another package's declarations (${path.basename(rel, '.d.ts')})`
  if (rel.startsWith('dist/adapters/')) return 'an adapter over another package\'s internals'
  if (rel === 'dist/core/wire.d.ts') return 'our bittorrent-protocol Wire subclass'
  if (rel.startsWith('node_modules/') && !rel.startsWith('node_modules/@types/node/') && !rel.startsWith('node_modules/typescript/')) return `another package (${rel})`
  return undefined
}

/** Every declaration file a public type reaches, with the paths (one per type) that reached it. */
function reachedFiles (p: Program, entry: string): Map<string, string[]> {
  const { checker } = p
  const reached = new Map<string, string[]>()
  const seen = new Set<ts.Type>()
  const external = (file: string): boolean => file.includes('/node_modules/')
  const isHidden = (s: ts.Symbol): boolean => (s.declarations ?? []).some(d => (ts.getCombinedModifierFlags(d) & (ts.ModifierFlags.Private | ts.ModifierFlags.Protected)) !== 0) || s.name.startsWith('#') || s.name.startsWith('__@')

  function visit (type: ts.Type, trail: string): void {
    if (seen.has(type)) return
    seen.add(type)
    let outside = false
    for (const s of [type.aliasSymbol, type.getSymbol()]) {
      for (const d of s?.declarations ?? []) {
        const file = d.getSourceFile().fileName
        const trails = reached.get(file) ?? []
        if (trails.length === 0) reached.set(file, trails)
        trails.push(`${trail} (${s!.name})`)
        if (external(file) || forbidden(file)) outside = true
      }
    }
    for (const t of type.aliasTypeArguments ?? []) visit(t, `${trail}<>`)
    if (type.isUnionOrIntersection()) for (const t of type.types) visit(t, trail)
    if ((type.flags & ts.TypeFlags.Object) && ((type as ts.ObjectType).objectFlags & ts.ObjectFlags.Reference)) {
      for (const t of checker.getTypeArguments(type as ts.TypeReference)) visit(t, `${trail}<>`)
    }
    // Standard library and Node types: their members are not ours to judge.
    if (outside) return
    if (type.isClassOrInterface()) for (const b of checker.getBaseTypes(type)) visit(b, `${trail} extends`)
    for (const prop of checker.getPropertiesOfType(type)) {
      if (isHidden(prop)) continue
      visit(checker.getTypeOfSymbol(prop), `${trail}.${prop.name}`)
    }
    for (const kind of [ts.SignatureKind.Call, ts.SignatureKind.Construct]) {
      for (const sig of checker.getSignaturesOfType(type, kind)) {
        for (const param of sig.getParameters()) visit(checker.getTypeOfSymbol(param), `${trail}(${param.name})`)
        visit(checker.getReturnTypeOfSignature(sig), `${trail}()`)
        for (const tp of sig.getTypeParameters() ?? []) { const c = tp.getConstraint(); if (c) visit(c, `${trail}<extends>`) }
      }
    }
    for (const info of checker.getIndexInfosOfType(type)) visit(info.type, `${trail}[]`)
  }

  for (const [name, sym] of exportNames(p, entry)) {
    const decl = sym.declarations?.[0]
    const typeOnly = decl !== undefined && ts.isExportSpecifier(decl) && (decl.isTypeOnly || decl.parent.parent.isTypeOnly)
    const target = sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym
    if (!typeOnly && (target.flags & ts.SymbolFlags.Value)) visit(checker.getTypeOfSymbol(target), name)
    if (target.flags & ts.SymbolFlags.Type) visit(checker.getDeclaredTypeOfSymbol(target), name)
  }
  return reached
}

test('no public type exposes another package\'s internals (Wire, streamx streams, adapters)', () => {
  const node = nodeProgram()
  const browser = browserProgram()
  const leaks: string[] = []
  for (const [name, p] of [['index', node], ['node', node], ['browser', browser]] as const) {
    const reached = reachedFiles(p, path.join(DIST, `${name}.d.ts`))
    assert.ok(reached.size > 10, `the walk reached the declarations of dist/${name}.d.ts (${reached.size} files)`)
    for (const [file, trails] of reached) {
      const why = forbidden(file)
      if (why) leaks.push(`dist/${name}.d.ts: ${trails.slice(0, 5).join(', ')} reach${trails.length === 1 ? 'es' : ''} ${why}`)
    }
  }
  assert.deepEqual(leaks, [], `public types lead to other packages' internals:\n${leaks.join('\n')}`)
})

test('the walk finds a leak where there is one (through a method, a property and a base class)', async t => {
  const dir = await tmpDir(t, 'api-leak')
  const entry = path.join(dir, 'leaky.d.ts')
  const wire = path.join(DIST, 'core', 'wire.js')
  const streamx = path.join(DIST, 'types', 'streamx.js')
  await writeFile(entry, [
    `import type { GuardedWire } from '${wire}'`,
    `import { Duplex } from '${streamx}'`,
    'export interface Handle { readonly id: number, open (): { wire: GuardedWire } }',
    'export interface Plain { readonly name: string }',
    'export declare class Piped implements Plain { readonly name: string; private hidden; pipe (): Duplex }',
    'export declare class Sub extends Duplex {}',
    ''
  ].join('\n'))
  const p = compile([entry], { types: ['node'], lib: ['lib.es2023.d.ts'] })
  const reached = reachedFiles(p, entry)
  const leaks = [...reached].filter(([file]) => forbidden(file)).flatMap(([, trails]) => trails)
  assert.ok(leaks.some(l => l.startsWith('Handle.open().wire')), `Handle.open().wire reaches the Wire subclass: ${leaks.join('; ')}`)
  assert.ok(leaks.some(l => l.startsWith('Piped.prototype.pipe()') || l.startsWith('Piped.pipe()')), `Piped.pipe() reaches streamx: ${leaks.join('; ')}`)
  assert.ok(leaks.some(l => l.startsWith('Sub')), `class Sub extends Duplex reaches streamx: ${leaks.join('; ')}`)
  assert.ok(!leaks.some(l => l.startsWith('Plain')), 'an interface of plain fields leaks nothing')
})
