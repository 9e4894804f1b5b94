/**
 * The conformance suite's WebRTC transport, isomorphic: each connection is a real offer/answer
 * between two RTCPeerConnections (torrent-fish's own negotiation code on both sides) and a
 * real data channel; the metadata peer gets one end as a DataChannelStream, the leecher the
 * other. Node passes @roamhq/wrtc, a page passes its globals. Signalling through a tracker is
 * tested elsewhere (test/node/webrtc-signalling.test.ts, test/browser/*).
 */
import { RtcNegotiation, type RtcImplementation } from '../../src/transport/webrtc-negotiation.ts'
import { DataChannelStream } from '../../src/transport/webrtc-stream.ts'
import type { ConformanceTransport } from './suite.ts'

export function webrtcConformanceTransport (name: string, rtc: RtcImplementation, config: Record<string, unknown> = { iceServers: [] }): ConformanceTransport {
  return {
    name,
    async start (peer) {
      const open = new Set<RtcNegotiation>()
      return {
        async connect () {
          const leecher = new RtcNegotiation(rtc, { config })
          const server = new RtcNegotiation(rtc, { config })
          open.add(leecher)
          open.add(server)
          const offer = await leecher.offer()
          await leecher.accept(await server.answer(offer))
          const [ours, theirs] = await Promise.all([server.channel(), leecher.channel()])
          peer.handleConnection(new DataChannelStream(ours, () => server.close()), { transport: 'webrtc', direction: 'incoming', encryption: false })
          return new DataChannelStream(theirs, () => leecher.close())
        },
        async stop () {
          for (const n of open) n.close()
        }
      }
    }
  }
}
