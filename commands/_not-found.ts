/** oclif's command_not_found hook: a mistyped command gets "did you mean", one line, exit code 2. */
import type { Hook } from '@oclif/core'
import { closest } from './_suggest.js'

const hook: Hook<'command_not_found'> = async function (opts) {
  const given = opts.id.split(':')[0]
  const commands = opts.config.commandIDs.filter((c) => !c.includes(':'))
  const m = closest(given, commands)
  process.stderr.write(
    `hep: ${given} is not a hep command${m ? `; did you mean hep ${m}?` : ''} (hep --help lists them)\n`,
  )
  process.exitCode = 2
}

export default hook
