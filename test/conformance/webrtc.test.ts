// The conformance suite over real WebRTC data channels in Node (@roamhq/wrtc on both ends).
// Needs non-loopback host candidates: test/run.sh's network namespace provides them.
import { test } from 'node:test'
import { loadNodeWebRtc } from '../../src/node/webrtc-hybrid.ts'
import { casesFor, runConformanceCase } from './suite.ts'
import { webrtcConformanceTransport } from './webrtc-transport.ts'

const rtc = await loadNodeWebRtc()
if (rtc instanceof Error) throw rtc
const webrtc = webrtcConformanceTransport('webrtc-node', rtc)

for (const kase of casesFor(webrtc)) {
  test(`webrtc (node): ${kase.name}`, () => runConformanceCase(webrtc, kase))
}
