/**
 * A full collection on demand for benchmarks (never the service: it forces nothing), without
 * asking the user to start node with --expose-gc: the flag is set at run time and `gc` taken
 * from a fresh context, where V8 installs it.
 */
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'

setFlagsFromString('--expose-gc')
export const collectGarbage = runInNewContext('gc') as () => void
