/**
 * The systemd units in deploy/ (torrent-fish.service and the torrent-fish@.service template)
 * pass `systemd-analyze verify` with no output at all: verify fails only on a missing unit or
 * binary and merely warns on unknown keys and bad values, so an empty output is the check.
 * verify also requires every Exec binary to exist here, so each unit is verified as a copy whose
 * ExecStart names this checkout's CLI instead of /usr/local/bin/torrent-fish (the one line that
 * differs, asserted); a copy with a missing binary must fail, proving the check can.
 * It also holds the units to the hardening the deployment page promises, and keeps the
 * template's sandbox identical to the main unit's.
 */
import { test, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { readFile, writeFile, symlink } from 'node:fs/promises'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { tmpDir, removeDir } from '../fixtures/tmp.ts'

const run = promisify(execFile)
const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..')
const CLI = path.join(ROOT, 'bin', 'torrent-fish.js')
const INSTALLED = '/usr/local/bin/torrent-fish'

let dir: string
before(async () => { dir = await tmpDir(undefined, 'systemd') })
after(async () => { await removeDir(dir) })

/** `systemd-analyze verify` of a unit file: exit code and everything it printed. */
async function verify (file: string): Promise<{ code: number, output: string }> {
  try {
    const { stdout, stderr } = await run('systemd-analyze', ['verify', '--man=no', file], { env: { ...process.env, SYSTEMD_LOG_COLOR: '0' } })
    return { code: 0, output: (stdout + stderr).trim() }
  } catch (err) {
    const e = err as { code?: number | string, stdout?: string, stderr?: string }
    if (e.code === 'ENOENT') throw new Error('systemd-analyze is missing: install systemd (bash .ci/setup does)')
    return { code: typeof e.code === 'number' ? e.code : 1, output: `${e.stdout ?? ''}${e.stderr ?? ''}`.trim() }
  }
}

/** A copy of deploy/NAME in the temp dir, ExecStart pointed at this checkout's CLI. */
async function localCopy (name: string, as = name): Promise<{ file: string, shipped: string, copy: string }> {
  const shipped = await readFile(path.join(ROOT, 'deploy', name), 'utf8')
  const copy = shipped.replace(/^ExecStart=\/usr\/local\/bin\/torrent-fish(?= |$)/m, `ExecStart=${CLI}`)
  const file = path.join(dir, as)
  await writeFile(file, copy)
  return { file, shipped, copy }
}

/** key=value lines of one section, comments and blanks dropped, in order. */
function section (unit: string, name: string): string[] {
  const out: string[] = []
  let current = ''
  for (const raw of unit.split('\n')) {
    const line = raw.trim()
    if (line === '' || line.startsWith('#')) continue
    const header = /^\[(.+)\]$/.exec(line)
    if (header) { current = header[1]; continue }
    if (current === name) out.push(line)
  }
  return out
}

function changedLines (a: string, b: string): string[] {
  const bl = b.split('\n')
  return a.split('\n').filter((line, i) => line !== bl[i])
}

test('torrent-fish.service verifies with no output', async () => {
  const { file, shipped, copy } = await localCopy('torrent-fish.service')
  assert.deepEqual(changedLines(shipped, copy), [`ExecStart=${INSTALLED} --json`], 'only ExecStart differs from the shipped unit')
  const { code, output } = await verify(file)
  assert.equal(output, '', 'systemd-analyze verify printed something')
  assert.equal(code, 0)
})

test('the torrent-fish@.service template verifies with no output, as an instance', async () => {
  const { file, shipped, copy } = await localCopy('torrent-fish@.service')
  assert.deepEqual(changedLines(shipped, copy), [`ExecStart=${INSTALLED} --json`])
  // An instance name resolves %i the way `systemctl start torrent-fish@shard1` would.
  const instance = path.join(dir, 'torrent-fish@shard1.service')
  await symlink(file, instance)
  const { code, output } = await verify(instance)
  assert.equal(output, '', 'systemd-analyze verify printed something')
  assert.equal(code, 0)
})

test('the check can fail: a unit whose ExecStart binary is missing does not verify', async () => {
  const { copy } = await localCopy('torrent-fish.service')
  const bad = path.join(dir, 'missing-binary.service')
  await writeFile(bad, copy.replace(/^ExecStart=\S+/m, `ExecStart=${path.join(dir, 'no-such-torrent-fish')}`))
  const { code, output } = await verify(bad)
  assert.notEqual(code, 0)
  assert.match(output, /no-such-torrent-fish/)
  // ...and an unknown key only warns, which is why the tests above require empty output.
  const typo = path.join(dir, 'typo.service')
  await writeFile(typo, (await localCopy('torrent-fish.service')).copy.replace('ProtectHome=yes', 'ProtectHomes=yes'))
  const warned = await verify(typo)
  assert.equal(warned.code, 0)
  assert.match(warned.output, /Unknown key 'ProtectHomes'/)
})

test('the unit is sandboxed, reloads with SIGHUP and restarts on failure', async () => {
  const unit = await readFile(path.join(ROOT, 'deploy', 'torrent-fish.service'), 'utf8')
  const service = section(unit, 'Service')
  for (const line of [
    'DynamicUser=yes', 'StateDirectory=torrent-fish', 'ProtectSystem=strict', 'ProtectHome=yes', 'PrivateTmp=yes',
    'NoNewPrivileges=yes', 'CapabilityBoundingSet=', 'Restart=on-failure', 'RestartPreventExitStatus=2',
    'ExecReload=/bin/kill -HUP $MAINPID', 'RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX'
  ]) assert.ok(service.includes(line), `[Service] has ${line}`)
  // The load path is read-only to the service, and the state goes to its StateDirectory.
  const loadPath = service.find(l => l.startsWith('Environment=TORRENT_FISH_LOAD_PATH='))?.split('=')[2]
  assert.ok(loadPath, 'the unit sets TORRENT_FISH_LOAD_PATH')
  // '-': a missing directory is left to the CLI, whose error names -l and the path.
  assert.ok(service.includes(`ReadOnlyPaths=-${loadPath}`), `ReadOnlyPaths=-${loadPath}`)
  assert.ok(service.includes('Environment=TORRENT_FISH_STATE_DIR=%S/torrent-fish'))
  // The compile cache in a directory systemd makes writable (the rest of the system is read-only).
  assert.ok(service.includes('CacheDirectory=torrent-fish') && service.includes('Environment=NODE_COMPILE_CACHE=%C/torrent-fish'))
  assert.ok(!service.some(l => l.startsWith('MemoryDenyWriteExecute=yes')), 'V8 needs W+X memory for its JIT')
})

test('the template differs from the main unit only in its per-instance lines', async () => {
  const main = await readFile(path.join(ROOT, 'deploy', 'torrent-fish.service'), 'utf8')
  const template = await readFile(path.join(ROOT, 'deploy', 'torrent-fish@.service'), 'utf8')
  for (const name of ['Service', 'Install']) {
    const perInstance = /^(StateDirectory|CacheDirectory|EnvironmentFile|Environment=TORRENT_FISH_(STATE_DIR|PORT|HTTP)|Environment=NODE_COMPILE_CACHE)=/
    const a = section(main, name).filter(l => !perInstance.test(l))
    const b = section(template, name).filter(l => !perInstance.test(l))
    assert.deepEqual(b, a, `[${name}] of the template matches torrent-fish.service`)
  }
  const service = section(template, 'Service')
  assert.ok(service.includes('StateDirectory=torrent-fish/%i'))
  assert.ok(service.includes('Environment=TORRENT_FISH_STATE_DIR=%S/torrent-fish/%i'))
  assert.ok(service.includes('CacheDirectory=torrent-fish/%i') && service.includes('Environment=NODE_COMPILE_CACHE=%C/torrent-fish/%i'), 'a compile cache per instance (each has its own dynamic user)')
  assert.ok(service.includes('EnvironmentFile=/etc/torrent-fish/%i.env'), 'each instance has its own required settings file')
})

test('systemd-analyze security rates the unit\'s exposure below 2 (of 10)', async () => {
  const { file } = await localCopy('torrent-fish.service', 'security.service')
  const { stdout } = await run('systemd-analyze', ['security', '--offline=yes', '--no-pager', file], { env: { ...process.env, SYSTEMD_COLORS: '0' } })
  const m = /Overall exposure level for \S+: (\d+(?:\.\d+)?)/.exec(stdout)
  assert.ok(m, `no exposure level in: ${stdout.slice(-300)}`)
  assert.ok(Number(m[1]) < 2, `exposure ${m[1]}`)
})
