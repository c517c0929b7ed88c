#!/usr/bin/env -S node --import tsx
// Development entry: runs the TypeScript sources through tsx (pinned 4.22.1): the command list is
// commands/index.ts itself, not its bundle dist/hep.cjs (which bin/run.js runs).
import { readFileSync } from 'node:fs'
import { execute, settings } from '@oclif/core'

// tsx transpiles; oclif is not to map paths to sources itself
settings.enableAutoTranspile = false

const root = new URL('..', import.meta.url)
const pjson = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'))
pjson.oclif.commands = { strategy: 'explicit', target: './commands/index.ts', identifier: 'COMMANDS' }
await execute({ development: true, dir: import.meta.url, loadOptions: { root: root.pathname, pjson } })
