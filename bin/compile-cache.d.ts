/** See compile-cache.js: turns on Node's compile cache for the CLI's modules where it can. */
export function enableCompileCache (): void
