// Preloaded (NODE_OPTIONS=--import) by test/cli/startup.test.ts: appends to $HEP_LOADED_LOG every
// module the process loads, ES modules as the loader resolves them (a hook thread) and CommonJS ones
// (require, createRequire) from the require cache when the process exits.
import { appendFileSync } from 'node:fs'
import { createRequire, register } from 'node:module'

const log = process.env.HEP_LOADED_LOG
if (log) {
  const hook = `
    import { appendFileSync } from 'node:fs'
    export async function resolve(spec, ctx, next) {
      const r = await next(spec, ctx)
      appendFileSync(${JSON.stringify(log)}, r.url + '\\n')
      return r
    }`
  register('data:text/javascript,' + encodeURIComponent(hook))
  const cache = createRequire(import.meta.url).cache
  process.on('exit', () => appendFileSync(log, Object.keys(cache).join('\n') + '\n'))
}
