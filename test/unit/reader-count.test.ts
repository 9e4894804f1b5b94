/**
 * How many reader processes a first scan starts (load-readers.ts readersFor): one per idle
 * core up to 2; up to 4 while the loader's own reads come from the disk, if memory allows.
 * Marks and free memory are given, so each case is exact; the last test reads the real machine.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { idleNow, readersFor, type IdleMark } from '../../src/node/load-readers.ts'

const MiB = 1024 * 1024
const start: IdleMark = { idleMs: 0, at: 0, reads: 0, readMs: 0 }
/** One second later: `idle` cores' worth of idle time, 1,000 files read at `usPerRead` each. */
const after = (idle: number, usPerRead = 30): IdleMark => ({ idleMs: idle * 1000, at: 1000, reads: 1000, readMs: usPerRead })

test('from the page cache: no reader on a busy machine, one per idle core, at most 2', () => {
  assert.equal(readersFor(start, after(0.1), 16_000 * MiB), 0)
  assert.equal(readersFor(start, after(0.7), 16_000 * MiB), 1)
  assert.equal(readersFor(start, after(1.9), 16_000 * MiB), 2)
  assert.equal(readersFor(start, after(7.5), 16_000 * MiB), 2)
})

test('from the disk: up to 4 readers, 256 MiB of free memory each', () => {
  assert.equal(readersFor(start, after(0.9, 140), 16_000 * MiB), 4)
  // Waiting on the disk looks busy to the idle count when other work fills the cores.
  assert.equal(readersFor(start, after(0.1, 140), 16_000 * MiB), 4)
  assert.equal(readersFor(start, after(0.9, 140), 800 * MiB), 3)
  // A small VM: the idle cores' count, never fewer.
  assert.equal(readersFor(start, after(1.9, 400), 300 * MiB), 2)
  assert.equal(readersFor(start, after(0.1, 140), 100 * MiB), 0)
  // No file read yet: no evidence of a disk.
  assert.equal(readersFor(start, { ...after(0.9), reads: 0, readMs: 0 }, 16_000 * MiB), 1)
})

test('the real idle mark moves forward and carries the reader clock it was given', () => {
  const a = idleNow()
  const b = idleNow({ reads: 5, readMs: 1.5 })
  assert.ok(b.at >= a.at && b.idleMs >= a.idleMs)
  assert.equal(b.reads, 5)
  assert.equal(b.readMs, 1.5)
})
