// The demo page: this tab becomes a metadata peer through torrent-fish's IIFE bundle
// (global TorrentFish). Torrents come from dropped/picked files or a URL, persist in
// IndexedDB, and are served to WebTorrent peers over WebRTC via a WebSocket tracker.
'use strict'

const $ = (sel) => document.querySelector(sel)
const MAX_LOG = 200
const DEFAULT_TRACKER = 'wss://tracker.openwebtorrent.com'
const DEFAULT_ICE = [{ urls: 'stun:stun.l.google.com:19302' }]

function fmtBytes (n) {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB']
  let i = 0
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++ }
  return `${i === 0 ? n : n.toFixed(1)} ${units[i]}`
}

function el (tag, attrs = {}, ...children) {
  const node = document.createElement(tag)
  for (const [k, v] of Object.entries(attrs)) {
    if (k === 'class') node.className = v
    else if (k.startsWith('data-') || k === 'title' || k === 'type' || k === 'readonly' || k === 'aria-label') node.setAttribute(k, v)
    else node[k] = v
  }
  for (const c of children) node.append(c)
  return node
}

async function loadConfig () {
  // The local server (npm start) says which tracker and ICE servers fit; a static host has no config.
  try {
    const res = await fetch('config.json', { cache: 'no-store' })
    if (res.ok) return await res.json()
  } catch {}
  return {}
}

function showError (message) {
  const li = el('li', {}, message)
  $('#errors').append(li)
  while ($('#errors').children.length > 10) $('#errors').firstChild.remove()
}

function logLine (text, kind) {
  const li = el('li', { class: kind }, `${new Date().toLocaleTimeString()} ${text}`)
  $('#log').prepend(li)
  while ($('#log').children.length > MAX_LOG) $('#log').lastChild.remove()
}

async function main () {
  const params = new URLSearchParams(location.search)
  const config = await loadConfig()
  const fromQuery = params.get('tracker')
  if (fromQuery) localStorage.setItem('torrent-fish-tracker', fromQuery)
  const tracker = fromQuery || localStorage.getItem('torrent-fish-tracker') || config.trackers?.[0] || DEFAULT_TRACKER
  const iceServers = params.get('ice') === 'none' ? [] : (config.iceServers ?? DEFAULT_ICE)
  $('#tracker-url').value = tracker

  let fish
  try {
    fish = TorrentFish.createBrowserPeer({
      trackers: [tracker],
      rtcConfig: { iceServers },
      // A tab is not a server: retry a dead tracker soon at first, then back off.
      reconnectMinMs: Number(params.get('retryMs')) || 1000
    })
  } catch (err) {
    $('#tracker-status').textContent = `cannot start: ${err.message}`
    $('#tracker-status').dataset.state = 'error'
    throw err
  }

  const saved = new Set()
  const rows = new Map()

  function magnetOf (record) {
    return TorrentFish.composeMagnet(record, { extraTrackers: [tracker] })
  }

  function addRow (record) {
    const magnet = magnetOf(record)
    const magnetInput = el('input', { class: 'magnet', readonly: 'readonly', value: magnet, spellcheck: false, 'data-testid': 'magnet', 'aria-label': `magnet of ${record.name}` })
    magnetInput.value = magnet
    const copy = el('button', { type: 'button', 'data-testid': 'copy' }, 'Copy')
    copy.onclick = async () => {
      try { await navigator.clipboard.writeText(magnet); copy.textContent = 'Copied' } catch { magnetInput.select(); copy.textContent = 'Press Ctrl+C' }
      setTimeout(() => { copy.textContent = 'Copy' }, 1500)
    }
    const remove = el('button', { type: 'button', title: 'Stop serving and forget' }, '✕')
    remove.onclick = async () => {
      fish.removeTorrent(record.infoHash)
      await DemoStore.remove(record.infoHash).catch(() => {})
    }
    const peers = el('td', { 'data-testid': 'peers' }, '0')
    const served = el('td', { 'data-testid': 'served' }, '0')
    const warn = record.urlList.length === 0 ? el('div', { class: 'warn' }, 'no web seed: leechers get the metadata but no content') : ''
    const tr = el('tr', { 'data-infohash': record.infoHash, 'data-testid': 'torrent' },
      el('td', { class: 'name' }, record.name, warn),
      el('td', {}, fmtBytes(record.length)),
      el('td', { class: 'hash', 'data-testid': 'infohash' }, record.infoHash),
      el('td', { class: 'magnet-cell' }, magnetInput, copy),
      peers, served, el('td', {}, remove))
    $('#torrents tbody').append(tr)
    rows.set(record.infoHash, { tr, peers, served })
    render()
  }

  fish.on('torrent-added', addRow)
  fish.on('torrent-removed', record => {
    rows.get(record.infoHash)?.tr.remove()
    rows.delete(record.infoHash)
    render()
  })
  fish.on('peer', p => logLine(`${p.transport} peer ${p.peerId?.slice(0, 16) ?? ''} connected for ${p.infoHash.slice(0, 8)}`, 'open'))
  fish.on('peer-close', e => logLine(`${e.transport} ${e.infoHash ? e.infoHash.slice(0, 8) : '(no torrent)'}: ${e.reason} during ${e.op}${e.message ? ` (${e.message})` : ''}`, 'close'))
  fish.on('metadata-served', e => logLine(`served the metadata of ${fish.getTorrent(e.infoHash)?.name ?? e.infoHash} over ${e.peer.transport}`, 'served'))
  fish.on('warning', w => { if (w.code !== 'WARN_TRACKER_DOWN') logLine(`warning: ${w.message}`, 'warning') })
  fish.webrtc.on('negotiation-close', e => logLine(`webrtc ${e.infoHash ? e.infoHash.slice(0, 8) : ''} negotiation: ${e.reason} during ${e.op}${e.message ? ` (${e.message})` : ''}`, 'close'))

  async function addBytes (bytes, source, { persist = true } = {}) {
    try {
      if (bytes.length > TorrentFish.limits.MAX_TORRENT_FILE_SIZE) throw new Error(`${fmtBytes(bytes.length)} is too large for a .torrent file`)
      const record = await fish.addTorrent(bytes, { source })
      if (persist) {
        saved.add(record.infoHash)
        await DemoStore.put({ infoHash: record.infoHash, source, bytes, addedAt: Date.now() }).catch(err => showError(`${source}: not saved for the next visit (${err.message})`))
      }
      return record
    } catch (err) {
      const why = err.code === 'ERR_DUPLICATE_TORRENT'
        ? 'already loaded'
        : err.code === 'ERR_INVALID_TORRENT' ? `not a valid .torrent file: ${err.message.replace(`${source}: `, '')}` : err.message
      showError(`${source}: ${why}`)
      return null
    }
  }

  async function addFiles (files) {
    for (const file of files) {
      if (file.size > TorrentFish.limits.MAX_TORRENT_FILE_SIZE) { showError(`${file.name}: ${fmtBytes(file.size)} is too large for a .torrent file`); continue }
      await addBytes(new Uint8Array(await file.arrayBuffer()), file.name)
    }
  }

  $('#file-input').addEventListener('change', async (ev) => {
    await addFiles([...ev.target.files])
    ev.target.value = ''
  })
  const drop = $('#drop')
  drop.addEventListener('dragover', ev => { ev.preventDefault(); drop.classList.add('over') })
  drop.addEventListener('dragleave', () => drop.classList.remove('over'))
  drop.addEventListener('drop', async ev => {
    ev.preventDefault()
    drop.classList.remove('over')
    await addFiles([...ev.dataTransfer.files])
  })
  $('#url-form').addEventListener('submit', async ev => {
    ev.preventDefault()
    const url = $('#torrent-url').value.trim()
    if (!url) return
    try {
      const res = await fetch(url)
      if (!res.ok) throw new Error(`HTTP ${res.status}`)
      await addBytes(new Uint8Array(await res.arrayBuffer()), url)
      $('#torrent-url').value = ''
    } catch (err) {
      showError(`${url}: cannot fetch (${err.message}; the server must allow CORS)`)
    }
  })
  $('#tracker-form').addEventListener('submit', ev => {
    ev.preventDefault()
    localStorage.setItem('torrent-fish-tracker', $('#tracker-url').value.trim())
    // Torrents come back from IndexedDB; the query parameter would override the new choice.
    const url = new URL(location.href)
    url.searchParams.delete('tracker')
    location.href = url.href
  })

  function renderTracker () {
    const status = $('#tracker-status')
    const t = fish.webrtc.trackers()[0]
    if (!t) return
    status.dataset.state = t.state
    if (t.state === 'open') status.textContent = `connected to ${t.url}`
    else if (t.state === 'connecting') status.textContent = `connecting to ${t.url}…`
    else if (t.state === 'down') {
      const secs = Math.max(0, Math.ceil(((t.retryAt ?? Date.now()) - Date.now()) / 1000))
      status.textContent = `tracker ${t.url} is unreachable (${t.lastError}); retrying in ${secs} s (attempt ${t.failures + 1})`
    } else status.textContent = `tracker ${t.url}: ${t.state}`
  }

  function render () {
    const byTorrent = new Map()
    for (const p of fish.peers()) {
      if (!p.infoHash) continue
      const m = byTorrent.get(p.infoHash) ?? {}
      m[p.transport] = (m[p.transport] ?? 0) + 1
      byTorrent.set(p.infoHash, m)
    }
    for (const [infoHash, row] of rows) {
      const m = byTorrent.get(infoHash)
      row.peers.textContent = m ? Object.entries(m).map(([t, n]) => `${t}: ${n}`).join(', ') : '0'
      row.served.textContent = String(fish.torrentStats(infoHash).metadataServed)
    }
    $('#torrents').hidden = rows.size === 0
    $('#empty').hidden = rows.size > 0
    const s = fish.getStats()
    $('#totals').textContent = `${rows.size} torrents, ${s.peers} peers, metadata served ${s.metadataServed} times`
    const r = fish.webrtc.stats()
    $('#rtc-stats').textContent = `WebRTC: ${r.offersReceived} offers received, ${r.answersSent} answered, ${r.connections} connections, ${r.peerConnections} RTCPeerConnections open`
    renderTracker()
  }
  fish.on('peer', render)
  fish.on('peer-close', render)
  fish.on('metadata-served', render)
  fish.webrtc.on('tracker', render)
  setInterval(render, 1000)

  // Restore what the last visit held.
  try {
    for (const entry of await DemoStore.all()) {
      await addBytes(new Uint8Array(entry.bytes), entry.source, { persist: false })
    }
  } catch (err) {
    showError(`could not restore saved torrents: ${err.message}`)
  }
  render()
  return { fish, addBytes, tracker }
}

window.demo = { ready: main() }
window.demo.ready.then(api => Object.assign(window.demo, api), err => console.error(err))
