/** SIP over TCP: messages framed by their Content-Length (src/sip/stream.ts). */
import { SipStreamFramer, type SipStreamMessage } from '../../sip/stream.js'
import type { Stamp } from '../stamp.js'
import type { StreamAddress, StreamHandler, StreamSink } from './handler.js'

export class SipStream implements StreamHandler {
  private readonly framer = new SipStreamFramer()

  /** `out` is scratch space, shared by the handlers of one factory (emptied after each push) */
  constructor(
    private readonly sink: StreamSink,
    private readonly from: StreamAddress,
    private readonly out: SipStreamMessage[],
  ) {}

  get buffered(): number {
    return this.framer.buffered
  }

  push(data: Buffer, stamp: Stamp): void {
    const msgs = this.out
    this.framer.push(data, msgs)
    if (msgs.length === 0) return
    const { sink, from } = this
    for (let i = 0; i < msgs.length; i++)
      sink.message('tcp', from, stamp, 'sip', msgs[i].payload, msgs[i].sip)
    msgs.length = 0
  }

  gap(): void {
    this.framer.gap()
  }

  end(): void {
    const f = this.framer
    const c = this.sink.counts
    f.end()
    c.keepAlives += f.keepAlives
    c.resyncBytes += f.skippedBytes
    c.incomplete += f.dropped - f.tooLong
    c.tooLong += f.tooLong
  }
}
