import { BaseCommand } from './_base.js'
import { HepError } from '../src/errors.js'

export default class Send extends BaseCommand<typeof Send> {
  static override summary = 'Encode and send HEP, from flags or JSON lines (not implemented yet)'
  static override description =
    'Not implemented yet: this command comes with the socket-layer issue. It exits with an error.'
  public async run(): Promise<void> {
    throw new HepError('NET', 'send is not implemented yet')
  }
}
