/**
 * The CLI's entry and its explicit command list (oclif's `explicit` command discovery): no glob of
 * command files at start. `npm run build` bundles this file, with the commands, src/ and
 * @oclif/core, into dist/hep.cjs (scripts/bundle.mjs), which bin/run.js runs: one file to load instead
 * of some 250. A new command is imported here and added to COMMANDS under its id.
 */
import type { Command } from '@oclif/core'
import Calls from './calls.js'
import Capture from './capture.js'
import Convert from './convert.js'
import Decode from './decode.js'
import Listen from './listen.js'
import Replay from './replay.js'
import Send from './send.js'

export { execute, settings } from '@oclif/core'

export const COMMANDS: Record<string, Command.Class> = {
  calls: Calls,
  capture: Capture,
  convert: Convert,
  decode: Decode,
  listen: Listen,
  replay: Replay,
  send: Send,
}
