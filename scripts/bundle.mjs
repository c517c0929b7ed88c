// The second step of `npm run build` (after tsc): bundles dist/commands/index.js (the command list
// and oclif's execute) with the commands, src/ and @oclif/core into dist/hep.cjs, the file bin/run.js
// runs, and makes V8's code cache for it (dist/hep.cjs.cache, see bin/run.js). One file instead of
// some 250 modules saves about a third of the start-up, the code cache another quarter. The libraries
// only some paths use (colours, tables, progress bars, WebSocket, metrics, SDP) stay outside and are loaded
// by those paths; so does @oclif/plugin-help (a plugin, loaded by oclif for `hep help`).
import { build } from 'esbuild'
import { spawnSync } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
// the worker threads' entries, each one file next to dist/hep.cjs (new URL('./NAME.js', import.meta.url))
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
// CommonJS, not an ES module: bin/run.js compiles it with vm.Script, which takes a code cache. Its
// first line is a build id, which the cache must carry to be used (a cache of another build is never
// applied to this one). import.meta.url is the bundle's URL, as it was in an ES module bundle.
const BUNDLE = 'dist/hep.cjs'
rmSync(`${root}/${BUNDLE}.cache`, { force: true })
rmSync(`${root}/dist/hep.js`, { force: true }) // the ES module bundle of earlier builds
rmSync(`${root}/dist/hep.js.map`, { force: true })
await build({
  absWorkingDir: root,
  entryPoints: ['dist/commands/index.js'],
  outfile: BUNDLE,
  bundle: true,
  platform: 'node',
  format: 'cjs',
  target: 'node20',
  keepNames: true,
  sourcemap: true,
  logLevel: 'warning',
  define: { 'import.meta.url': '__hepBundleUrl' },
  banner: {
    js: [
      `// hep bundle ${randomUUID()}`,
      "var __hepBundleUrl = require('node:url').pathToFileURL(__filename).href;",
      // V8 drops a vm.Script's import() callback when its code comes from the cache (Node 20), so
      // bin/run.js hands one in; a plain require() of the bundle keeps the native import()
      "var __hepImport = globalThis[Symbol.for('hep.import')] ?? ((s) => import(s));",
    ].join('\n'),
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

// every import() of the bundle (oclif's hooks and plugins, chalk, cli-progress) goes through __hepImport
const code = readFileSync(`${root}/${BUNDLE}`, 'utf8')
const imports = code.split('await import(').length - 1
if (imports === 0) throw new Error(`bundle: no import() found in ${BUNDLE}: has esbuild's output changed?`)
writeFileSync(`${root}/${BUNDLE}`, code.replaceAll('await import(', 'await __hepImport('))

// The code cache: the bundle run on the paths whose start-up users wait for (help, a decode), each
// run adding the functions it compiled. Without it (or when V8 rejects it) hep only starts slower.
for (const args of [['decode', 'fixtures/hep/hep-v3.hex', '--json'], ['--help'], ['decode', '--help']]) {
  const r = spawnSync(process.execPath, ['bin/run.js', ...args], {
    cwd: root,
    stdio: ['ignore', 'ignore', 'pipe'],
    env: { ...process.env, HEP_BUILD_CODE_CACHE: '1' },
    timeout: 60_000,
  })
  if (r.status !== 0) {
    rmSync(`${root}/${BUNDLE}.cache`, { force: true })
    console.warn(`bundle: no code cache (hep ${args.join(' ')} failed: ${r.stderr})`)
    break
  }
}
