/**
 * The rendering libraries, loaded by the paths that use them and only then: a table, a progress bar
 * and colours cost 20-30 ms of start-up, and most runs (JSON lines, a pipe, --quiet) use none.
 * `Table` and `SingleBar` are used exactly as the libraries' own classes (`new Table(...)`).
 */
import { createRequire } from 'node:module'
import type CliTable3 from 'cli-table3'
import type * as CliProgress from 'cli-progress'
import type { ChalkInstance } from 'chalk'

const load = createRequire(import.meta.url)

export const Table = function (options?: CliTable3.TableConstructorOptions) {
  const T = load('cli-table3') as typeof CliTable3
  return new T(options)
} as unknown as typeof CliTable3

export type SingleBar = CliProgress.SingleBar
export const SingleBar = function (options: CliProgress.Options, preset?: CliProgress.Preset) {
  const { SingleBar: B } = load('cli-progress') as typeof CliProgress
  return new B(options, preset)
} as unknown as typeof CliProgress.SingleBar

/**
 * Colours off: every style (`c.dim`, `c.bold.red`, ...) returns its text unchanged, as chalk at
 * level 0 does (arguments joined by a space), without loading chalk.
 */
const noStyle: ChalkInstance = new Proxy(function () {} as unknown as ChalkInstance, {
  // not a thenable (`await colors(false)` must not call it), level 0 like chalk's; any style: itself
  get: (_t, key) => (key === 'then' ? undefined : key === 'level' ? 0 : noStyle),
  apply: (_t, _this, args: unknown[]) => args.join(' '),
})
export const plain = noStyle

/** Colours for one stream: chalk only when they are on. */
export async function colors(on: boolean): Promise<ChalkInstance> {
  if (!on) return plain
  const { Chalk } = await import('chalk')
  return new Chalk({ level: 1 })
}
