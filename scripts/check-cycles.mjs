#!/usr/bin/env node
// Import cycles among the modules of src/ (or the folders given): every `import ... from`,
// `export ... from` and `import('...')` of a relative path is an edge, type-only imports included
// (pass --runtime to leave those out). With --folders, the graph is one of top folders (src/capture,
// src/io, ...: a module stands for its folder, a file at the root for itself) and a cycle is one
// between folders. Prints each cycle
// found and exits 1 if there is any.
//
//   node scripts/check-cycles.mjs [--runtime] [--folders] [dir ...]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'

const args = process.argv.slice(2)
const runtimeOnly = args.includes('--runtime')
const byFolder = args.includes('--folders')
const roots = args.filter((a) => !a.startsWith('--'))
if (roots.length === 0) roots.push('src')

function files(dir) {
  const out = []
  for (const name of readdirSync(dir)) {
    const p = join(dir, name)
    if (statSync(p).isDirectory()) out.push(...files(p))
    else if (/\.(ts|mts|js|mjs)$/.test(name) && !name.endsWith('.d.ts')) out.push(p)
  }
  return out
}

// `import type {...} from`, `import {...} from`, `export {...} from`, `export * from`, `import '...'`
const STATIC = /^\s*(import|export)\s+(type\s+)?([^'";]*?\s+from\s+)?['"]([^'"]+)['"]/gm
const DYNAMIC = /\bimport\(\s*['"]([^'"]+)['"]\s*\)/g

/** the module file a relative specifier names ('./x.js' is ./x.ts in the sources), or undefined */
function resolveSpec(from, spec, known) {
  if (!spec.startsWith('.')) return undefined
  const base = resolve(dirname(from), spec)
  const candidates = [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    base + '.ts',
    join(base, 'index.ts'),
  ]
  return candidates.find((c) => known.has(c))
}

const rel = (f) => relative(process.cwd(), f)
const all = roots.flatMap((r) => files(resolve(r)))
const known = new Set(all)
const graph = new Map()
for (const f of all) {
  const text = readFileSync(f, 'utf8').replace(/\/\*[\s\S]*?\*\/|\/\/[^\n]*/g, '')
  const deps = new Set()
  for (const m of text.matchAll(STATIC)) {
    // a type-only import: `import type ...`, or every name in braces marked `type`
    const names = m[3] ?? ''
    const braces = /^\s*\{([^}]*)\}\s+from\s+$/.exec(names)
    const allTypes =
      m[2] !== undefined ||
      (braces !== null && braces[1].split(',').every((n) => n.trim() === '' || /^type\s/.test(n.trim())))
    if (runtimeOnly && allTypes) continue
    const to = resolveSpec(f, m[4], known)
    if (to !== undefined) deps.add(to)
  }
  for (const m of text.matchAll(DYNAMIC)) {
    const to = resolveSpec(f, m[1], known)
    if (to !== undefined) deps.add(to)
  }
  graph.set(f, [...deps])
}
/** folder mode: the module imports behind each edge between folders */
const via = new Map()
if (byFolder) {
  // a module stands for its top folder under the root (src/capture/tcp/x.ts for src/capture; a
  // module at the root for itself); edges inside a folder are not cycles between folders
  const top = (f) => {
    const root = roots.map((r) => resolve(r)).find((r) => f.startsWith(r + '/'))
    const parts = relative(root, f).split('/')
    return parts.length === 1 ? f : join(root, parts[0])
  }
  const folders = new Map()
  for (const [f, deps] of graph) {
    const d = top(f)
    if (!folders.has(d)) folders.set(d, new Set())
    for (const t of deps) {
      if (top(t) === d) continue
      folders.get(d).add(top(t))
      const key = `${d} ${top(t)}`
      if (!via.has(key)) via.set(key, [])
      via.get(key).push(`${rel(f)} -> ${rel(t)}`)
    }
  }
  graph.clear()
  for (const [d, deps] of folders) graph.set(d, [...deps])
}

// strongly connected components (Tarjan); each one with more than one module holds a cycle
let index = 0
const idx = new Map()
const low = new Map()
const stack = []
const onStack = new Set()
const sccs = []
function strong(v) {
  idx.set(v, index)
  low.set(v, index++)
  stack.push(v)
  onStack.add(v)
  for (const w of graph.get(v)) {
    if (!idx.has(w)) {
      strong(w)
      low.set(v, Math.min(low.get(v), low.get(w)))
    } else if (onStack.has(w)) low.set(v, Math.min(low.get(v), idx.get(w)))
  }
  if (low.get(v) === idx.get(v)) {
    const c = []
    let w
    do {
      w = stack.pop()
      onStack.delete(w)
      c.push(w)
    } while (w !== v)
    if (c.length > 1 || graph.get(v).includes(v)) sccs.push(c)
  }
}
for (const v of graph.keys()) if (!idx.has(v)) strong(v)

/** one shortest cycle through `start` inside the component */
function cycleThrough(start, members) {
  const prev = new Map([[start, undefined]])
  const queue = [start]
  while (queue.length > 0) {
    const v = queue.shift()
    for (const w of graph.get(v)) {
      if (!members.has(w)) continue
      if (w === start) {
        const path = [v]
        for (let p = prev.get(v); p !== undefined; p = prev.get(p)) path.push(p)
        return path.reverse().concat(start)
      }
      if (!prev.has(w)) {
        prev.set(w, v)
        queue.push(w)
      }
    }
  }
  return [start]
}

const what = `${byFolder ? 'folders' : 'modules'}${runtimeOnly ? ' (runtime imports)' : ''}`
if (sccs.length === 0) {
  console.log(`no import cycles among ${graph.size} ${what}`)
  process.exit(0)
}
console.log(`${sccs.length} group(s) of ${what} in import cycles:`)
for (const c of sccs) {
  const members = new Set(c)
  const first = [...c].sort()[0]
  console.log(`- ${c.length}: ${[...c].map(rel).sort().join(', ')}`)
  const cycle = cycleThrough(first, members)
  console.log(`  e.g. ${cycle.map(rel).join(' -> ')}`)
  // folders: every import between two folders of the group
  if (byFolder)
    for (const a of [...c].sort())
      for (const b of graph.get(a))
        if (members.has(b)) for (const e of via.get(`${a} ${b}`)) console.log(`    ${e}`)
}
process.exit(1)
