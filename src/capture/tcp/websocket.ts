/**
 * SIP over WebSocket (RFC 7118): the frames after the handshake (which detect.ts reads), one SIP
 * message per WebSocket message (src/sip/websocket.ts), each classified by its content.
 */
import { WebSocketFramer, type WebSocketMessage } from '../../sip/websocket.js'
import { classifyMessage } from '../classify.js'
import type { Stamp } from '../stamp.js'
import type { StreamAddress, StreamHandler, StreamSink } from './handler.js'

export class WebSocketStream implements StreamHandler {
  private readonly framer = new WebSocketFramer()

  /** `out` is scratch space, shared by the handlers of one factory (emptied after each push) */
  constructor(
    private readonly sink: StreamSink,
    private readonly from: StreamAddress,
    private readonly out: WebSocketMessage[],
  ) {}

  get buffered(): number {
    return this.framer.buffered
  }

  push(data: Buffer, stamp: Stamp): void {
    const msgs = this.out
    this.framer.push(data, msgs)
    const { sink, from } = this
    for (let i = 0; i < msgs.length; i++) {
      const p = msgs[i].payload
      const c = classifyMessage(p)
      if (c === undefined) sink.skip('WebSocket message not SIP')
      else if (c === 'hep') sink.message('tcp', from, stamp, 'hep', p, undefined)
      else sink.message('tcp', from, stamp, 'sip', p, c)
    }
    msgs.length = 0
  }

  gap(): void {
    this.framer.gap()
  }

  end(): void {
    const f = this.framer
    const c = this.sink.counts
    f.end()
    c.incomplete += f.dropped
    c.webSocketUnreadable += f.unreadable
    c.webSocketErrors += f.protocolErrors
    c.webSocketControlFrames += f.controlFrames
  }
}
