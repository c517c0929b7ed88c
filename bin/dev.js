#!/usr/bin/env -S node --import tsx
// Development entry: runs the TypeScript sources through tsx (pinned 4.22.1).
import { execute } from '@oclif/core'

await execute({ development: true, dir: import.meta.url })
