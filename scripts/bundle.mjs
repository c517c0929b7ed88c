// The second step of `npm run build` (after tsc): bundles dist/commands/index.js (the command list
// and oclif's execute) with the commands, src/ and @oclif/core into dist/hep.js, the file bin/run.js
// runs. One file instead of some 250 modules saves about a third of the start-up. The libraries only
// some paths use (colours, tables, progress bars, WebSocket, metrics, SDP) stay outside and are loaded
// by those paths; so does @oclif/plugin-help (a plugin, loaded by oclif for `hep help`).
import { build } from 'esbuild'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
// the worker threads' entries, each one file next to dist/hep.js (new URL('./NAME.js', import.meta.url))
const workers = {
  'listen-worker': 'dist/src/listen/out-worker.js',
  'replay-worker': 'dist/src/replay/worker.js',
}
for (const [name, entry] of Object.entries(workers)) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: `dist/${name}.js`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    keepNames: true,
    sourcemap: true,
    logLevel: 'warning',
    banner: {
      js: "import { createRequire as __hepRequire } from 'node:module'\nconst require = __hepRequire(import.meta.url)",
    },
  })
}
await build({
  absWorkingDir: root,
  entryPoints: ['dist/commands/index.js'],
  outfile: 'dist/hep.js',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
  // CommonJS inside an ES module bundle: its require() of Node's modules needs a real require
  banner: {
    js: "import { createRequire as __hepRequire } from 'node:module'\nconst require = __hepRequire(import.meta.url)",
  },
  external: [
    '@oclif/plugin-help',
    'chalk',
    'cli-table3',
    'cli-progress',
    'ws',
    'prom-client',
    'sdp-transform',
    // @oclif/core requires it only to read a tsconfig in development
    'typescript',
  ],
})
