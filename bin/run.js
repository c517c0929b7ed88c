#!/usr/bin/env node
import { execute, settings } from '../dist/hep.js'

// dist/hep.js is the built bundle (commands/index.ts and all it imports): never look for TypeScript
// sources to run instead, whatever NODE_ENV says (bin/dev.js runs the sources)
settings.enableAutoTranspile = false

// No top-level await: were the command's promise never to settle, Node would end with its own exit
// code 13 ("unsettled top-level await"), which is not one of ours. We map that, and anything
// thrown outside a command, to 70 (internal error), with a message instead of a stack.
let settled = false
const internal = (what) => {
  try {
    process.stderr.write(`hep: internal error: ${what}\n`)
  } catch {
    // stderr gone too
  }
  process.exitCode = 70
}
// An exception nobody caught is our bug: one line (the stack with HEP_DEBUG=1) and exit code 70,
// never Node's dump and exit code 1 (which means "input error" here).
process.on('uncaughtException', (e) => {
  internal(e instanceof Error ? e.message : String(e))
  if (process.env.HEP_DEBUG && e instanceof Error) process.stderr.write(String(e.stack) + '\n')
  process.exit()
})
// stderr's reader gone before the command listens for it (oclif warns while loading): not a crash
process.stderr.on('error', () => {})
// Ctrl-C or SIGTERM before the command has taken them over (while it loads): nothing started,
// nothing to summarize, so end at once (commands/_base.ts handles them from then on).
const early = () => {
  if (!globalThis[Symbol.for('hep.signals')]) process.exit(130)
}
process.on('SIGINT', early)
process.on('SIGTERM', early)
process.on('beforeExit', () => {
  if (settled) return
  settled = true
  internal('the command stopped without finishing (please report it with HEP_DEBUG=1 output)')
})
execute({ dir: import.meta.url }).then(
  () => {
    settled = true
    // The command is over and has said all it had to say. Should a socket, timer or stdin still hold
    // the process (a leak: our bug), it must not keep the user waiting, nor ignore Ctrl-C.
    setTimeout(() => {
      if (process.env.HEP_DEBUG)
        process.stderr.write(`hep: still active at exit: ${process.getActiveResourcesInfo().join(', ')}\n`)
      process.exit()
    }, 200).unref()
  },
  (e) => {
    settled = true
    internal(e instanceof Error ? e.message : String(e))
    if (process.env.HEP_DEBUG && e instanceof Error) process.stderr.write(String(e.stack) + '\n')
    setTimeout(() => process.exit(), 300).unref()
  },
)
