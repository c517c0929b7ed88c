import { BaseCommand } from './_base.js'
import { HepError } from '../src/errors.js'

export default class Listen extends BaseCommand<typeof Listen> {
  static override summary = 'Receive HEP on UDP/TCP/TLS/WebSocket and show it (not implemented yet)'
  static override description =
    'Not implemented yet: this command comes with the socket-layer issue. It exits with an error.'
  public async run(): Promise<void> {
    throw new HepError('NET', 'listen is not implemented yet')
  }
}
