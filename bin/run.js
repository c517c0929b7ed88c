#!/usr/bin/env node
import { readFileSync, writeFileSync } from 'node:fs'
import Module, { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import vm from 'node:vm'

// dist/hep.cjs is the built bundle (commands/index.ts and all it imports, scripts/bundle.mjs). It is
// compiled here with V8's code cache that `npm run build` made (dist/hep.cjs.cache): most of its
// functions are then not parsed and compiled again at each start. The cache is used only when it was
// made for this very bundle (its first line, a build id) and V8 accepts it (same V8, same flags);
// otherwise the bundle is compiled as any module. It is then the module `require` finds for its path
// (oclif loads the command list from it: package.json oclif.commands.target).
const BUNDLE = fileURLToPath(new URL('../dist/hep.cjs', import.meta.url))
const source = readFileSync(BUNDLE, 'utf8')
const buildId = source.slice(0, source.indexOf('\n'))
let cachedData
try {
  const c = readFileSync(BUNDLE + '.cache')
  const nl = c.indexOf(10)
  if (nl > 0 && c.toString('latin1', 0, nl) === buildId) cachedData = c.subarray(nl + 1)
} catch {
  // no cache: compiled as usual
}
const script = new vm.Script(Module.wrap(source), {
  filename: BUNDLE,
  cachedData,
})
// the bundle's import() (oclif's hooks and plugins, chalk): from here, since V8 forgets a vm.Script's
// import() callback for code from the cache (its specifiers are file URLs or package names)
globalThis[Symbol.for('hep.import')] = (specifier) => import(specifier)
// HEP_DEBUG=startup: whether the cache was used
if (/\bstartup\b/.test(process.env.HEP_DEBUG ?? ''))
  process.stderr.write(
    `hep: code cache ${cachedData === undefined ? 'none' : script.cachedDataRejected ? 'rejected' : 'used'}\n`,
  )
const bundle = new Module(BUNDLE)
bundle.filename = BUNDLE
bundle.paths = Module._nodeModulePaths(dirname(BUNDLE))
Module._cache[BUNDLE] = bundle
script
  .runInThisContext()
  .call(bundle.exports, bundle.exports, createRequire(BUNDLE), bundle, BUNDLE, dirname(BUNDLE))
bundle.loaded = true
const { execute, settings } = bundle.exports

// never look for TypeScript sources to run instead, whatever NODE_ENV says (bin/dev.js runs the sources)
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
    // `npm run build` only: the code cache, with what this run compiled (scripts/bundle.mjs)
    if (process.env.HEP_BUILD_CODE_CACHE)
      writeFileSync(
        BUNDLE + '.cache',
        Buffer.concat([Buffer.from(buildId + '\n'), script.createCachedData()]),
      )
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
