/**
 * The stream factory: every new TCP direction gets a detector, and the detector gets the handler of
 * the protocol it finds from here. Handlers of one factory share their scratch arrays (a push empties
 * them before it returns).
 */
import type { SipStreamMessage } from '../../sip/stream.js'
import type { WebSocketMessage } from '../../sip/websocket.js'
import { StreamDetector } from './detect.js'
import type { StreamAddress, StreamFactory, StreamHandler, StreamProtocol, StreamSink } from './handler.js'
import { HepStream } from './hep.js'
import { IgnoredStream } from './ignored.js'
import { SipStream } from './sip.js'
import { WebSocketStream } from './websocket.js'

export class CaptureStreamFactory implements StreamFactory {
  private readonly sipOut: SipStreamMessage[] = []
  private readonly wsOut: WebSocketMessage[] = []
  /** one for all: it holds nothing */
  private readonly ignored: IgnoredStream

  constructor(private readonly sink: StreamSink) {
    this.ignored = new IgnoredStream(sink)
  }

  stream(from: StreamAddress, midStream: boolean): StreamHandler {
    return new StreamDetector(this, this.sink, from, midStream)
  }

  handler(protocol: StreamProtocol, from: StreamAddress): StreamHandler {
    switch (protocol) {
      case 'sip':
        return new SipStream(this.sink, from, this.sipOut)
      case 'hep':
        return new HepStream(this.sink, from)
      case 'websocket':
        return new WebSocketStream(this.sink, from, this.wsOut)
      default:
        return this.ignored
    }
  }
}
