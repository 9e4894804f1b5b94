// IndexedDB persistence for the demo: the .torrent bytes of every loaded torrent, so a reload
// restores them. One object store keyed by info hash.
'use strict'

window.DemoStore = (() => {
  const DB = 'torrent-fish-demo'
  const STORE = 'torrents'

  function open () {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open(DB, 1)
      req.onupgradeneeded = () => req.result.createObjectStore(STORE, { keyPath: 'infoHash' })
      req.onsuccess = () => resolve(req.result)
      req.onerror = () => reject(req.error)
    })
  }

  let dbPromise = null
  const db = () => (dbPromise ??= open())

  async function run (mode, fn) {
    const d = await db()
    return new Promise((resolve, reject) => {
      const tx = d.transaction(STORE, mode)
      const result = fn(tx.objectStore(STORE))
      tx.oncomplete = () => resolve(result && 'result' in result ? result.result : undefined)
      tx.onerror = () => reject(tx.error)
      tx.onabort = () => reject(tx.error)
    })
  }

  return {
    /** Every saved torrent: { infoHash, source, bytes, addedAt }. */
    all: () => run('readonly', s => s.getAll()),
    put: (entry) => run('readwrite', s => s.put(entry)),
    remove: (infoHash) => run('readwrite', s => s.delete(infoHash))
  }
})()
