import { BaseCommand } from './_base.js'
import { HepError } from '../src/errors.js'

export default class Replay extends BaseCommand<typeof Replay> {
  static override summary =
    'Re-send the SIP of captures as HEP at their original timing (not implemented yet)'
  static override description =
    'Not implemented yet: this command comes with the replay issue. It exits with an error.'
  public async run(): Promise<void> {
    throw new HepError('NET', 'replay is not implemented yet')
  }
}
