import type { StreamHandler, StreamSink } from './handler.js'

/** A direction that carries neither SIP, HEP nor WebSocket (TLS, HTTP...): every segment is counted, nothing kept. */
export class IgnoredStream implements StreamHandler {
  readonly buffered = 0

  constructor(private readonly sink: StreamSink) {}

  push(): void {
    this.sink.skip('TCP stream not SIP/HEP')
  }

  gap(): void {}

  end(): void {}
}
