#!/usr/bin/env node
// Installed from npm (inside node_modules) this runs the built CLI in dist/, since Node does
// not strip types under node_modules. In a source checkout it runs src/ directly (Node >=
// 22.18 strips types), so a stale build can never shadow the code being worked on. A copy
// without src/ (the Docker image) runs dist/ as well.
import { existsSync } from 'node:fs'
import { enableCompileCache } from './compile-cache.js'
enableCompileCache() // before the CLI's import graph is compiled
const installed = import.meta.url.includes('/node_modules/') || !existsSync(new URL('../src/cli/main.ts', import.meta.url))
const entry = installed ? '../dist/cli/main.js' : '../src/cli/main.ts'
const { main } = await import(new URL(entry, import.meta.url).href)
process.exitCode = await main(process.argv.slice(2))
