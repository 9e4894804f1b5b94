#!/usr/bin/env node
// Runs the built CLI (dist/) when installed; in a source checkout without a build it runs
// the TypeScript sources directly (Node >= 22.18 strips types).
import { existsSync } from 'node:fs'

const built = new URL('../dist/cli/main.js', import.meta.url)
const { main } = await import(existsSync(built) ? built.href : new URL('../src/cli/main.ts', import.meta.url).href)
process.exitCode = await main(process.argv.slice(2))
