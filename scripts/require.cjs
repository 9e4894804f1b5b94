'use strict'
// require('torrent-fish'). The package is ES modules; Node >= 22.12 can require() an ES module
// graph unless something in it uses top-level await, and then its own error names neither the
// package nor the way out. So: the real module where require() can load it, else an error that
// says what to do instead.
try {
  module.exports = require('./node.js')
} catch (err) {
  if (err && (err.code === 'ERR_REQUIRE_ASYNC_MODULE' || err.code === 'ERR_REQUIRE_ESM')) {
    const clear = new Error(`torrent-fish is an ES module and this Node cannot require() it (${err.code}): load it with \`const { createTorrentFish } = await import('torrent-fish')\`, or use "type": "module"`)
    clear.code = 'ERR_TORRENT_FISH_ESM_ONLY'
    clear.cause = err
    throw clear
  }
  throw err
}
