// The conformance suite for a page: bundled by test/browser/build-bundles.ts and run case
// by case from test/browser/conformance.test.ts, over the page's own WebRTC.
import { casesFor, runConformanceCase } from '../../conformance/suite.ts'
import { webrtcConformanceTransport } from '../../conformance/webrtc-transport.ts'
import type { RtcImplementation } from '../../../src/transport/webrtc-negotiation.ts'

const transport = webrtcConformanceTransport('webrtc-browser', globalThis as unknown as RtcImplementation)
const cases = casesFor(transport)

;(globalThis as any).conformance = {
  names: cases.map(c => c.name),
  async run (name: string): Promise<{ ok: boolean, error?: string, ms: number }> {
    const kase = cases.find(c => c.name === name)
    if (!kase) return { ok: false, error: `no case named ${name}`, ms: 0 }
    const started = performance.now()
    try {
      await runConformanceCase(transport, kase)
      return { ok: true, ms: performance.now() - started }
    } catch (err) {
      return { ok: false, error: (err as Error).stack ?? String(err), ms: performance.now() - started }
    }
  }
}
