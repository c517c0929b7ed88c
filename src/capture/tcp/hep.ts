/** HEP3 over TCP (as Kamailio sends it): back-to-back packets, each sized by its total length. */
import { Hep3Framer } from '../../hep/framer.js'
import type { Stamp } from '../stamp.js'
import type { StreamAddress, StreamHandler, StreamSink } from './handler.js'

export class HepStream implements StreamHandler {
  /** keeps its own copy of a packet's start (see Hep3Framer.push) */
  private readonly framer = new Hep3Framer()
  /** bad data is counted and skipped up to the next "HEP3" magic */
  private readonly onError: () => void

  constructor(
    private readonly sink: StreamSink,
    private readonly from: StreamAddress,
  ) {
    this.onError = () => sink.skip('bad data in a HEP stream')
  }

  get buffered(): number {
    return this.framer.buffered
  }

  push(data: Buffer, stamp: Stamp): void {
    const frames = this.framer.push(data, this.onError)
    const { sink, from } = this
    for (let i = 0; i < frames.length; i++) sink.message('tcp', from, stamp, 'hep', frames[i], undefined)
  }

  gap(): void {
    // drop the packet in progress; bad magic after the hole makes the framer resynchronise
    if (this.framer.buffered > 0) this.sink.counts.incomplete++
    this.framer.reset()
  }

  end(): void {
    const c = this.sink.counts
    if (this.framer.buffered > 0) c.incomplete++
    c.resyncBytes += this.framer.skipped
  }
}
