#!/usr/bin/env node
// Dead exports: values exported by src/ or commands/ that no module imports and their own file does not
// use either (src/index.ts, the package's API, counts as an importer; so do the tests, bench/ and
// scripts/, bench reading dist/src/X.js as src/X.ts). Exits 1 if there is any (npm run lint runs it).
// --all also lists exports only their own file uses ("export unneeded"), --types types too, and
// --members public class members of src/ that no file names (a hint to check by hand: the API has some).
//
//   node scripts/unused-exports.mjs [--all] [--types] [--members]
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import ts from 'typescript'

const ROOT = resolve(dirname(new URL(import.meta.url).pathname), '..')
const walk = (d) =>
  readdirSync(d).flatMap((n) => {
    const p = join(d, n)
    if (n === 'node_modules' || n === 'dist' || n === 'out') return []
    return statSync(p).isDirectory()
      ? walk(p)
      : /\.(ts|mts|js|mjs)$/.test(n) && !n.endsWith('.d.ts')
        ? [p]
        : []
  })
const dirs = ['src', 'commands', 'test', 'bench', 'scripts', 'bin'].map((d) => join(ROOT, d))
const files = dirs.flatMap((d) => {
  try {
    return walk(d)
  } catch {
    return []
  }
})
const known = new Set(files)
const parse = (f) => ts.createSourceFile(f, readFileSync(f, 'utf8'), ts.ScriptTarget.Latest, true)

function resolveSpec(from, spec) {
  if (!spec.startsWith('.')) return undefined
  let base = resolve(dirname(from), spec)
  base = base.replace(`${ROOT}/dist/`, `${ROOT}/`)
  return [
    base,
    base.replace(/\.js$/, '.ts'),
    base.replace(/\.mjs$/, '.mts'),
    `${base}.ts`,
    join(base, 'index.ts'),
  ].find((c) => known.has(c))
}

/** file -> names it exports (declared there), and file -> names others take from it ('*' = all) */
const exported = new Map()
const members = []
const used = new Map()
const use = (file, name) => {
  if (!used.has(file)) used.set(file, new Set())
  used.get(file).add(name)
}
for (const f of files) {
  const sf = parse(f)
  const mine = []
  for (const st of sf.statements) {
    const mods = ts.canHaveModifiers(st) ? (ts.getModifiers(st) ?? []) : []
    const isExport = mods.some((m) => m.kind === ts.SyntaxKind.ExportKeyword)
    const isDefault = mods.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)
    const isType = ts.isInterfaceDeclaration(st) || ts.isTypeAliasDeclaration(st)
    if (isExport && !ts.isExportDeclaration(st)) {
      if (isDefault) mine.push({ name: 'default', isType })
      else if (ts.isVariableStatement(st))
        for (const d of st.declarationList.declarations) mine.push({ name: d.name.getText(sf), isType })
      else if (st.name) mine.push({ name: st.name.getText(sf), isType })
    }
    // class members (methods, getters, properties) that no file names as .member: a hint, checked by hand
    if (/\/src\//.test(f) && ts.isClassDeclaration(st))
      for (const m of st.members) {
        const flags = ts.canHaveModifiers(m) ? (ts.getModifiers(m) ?? []) : []
        if (
          flags.some(
            (x) => x.kind === ts.SyntaxKind.PrivateKeyword || x.kind === ts.SyntaxKind.ProtectedKeyword,
          )
        )
          continue
        if (m.name && ts.isIdentifier(m.name) && !ts.isConstructorDeclaration(m))
          members.push({ file: f, cls: st.name?.text, name: m.name.text })
      }
    if ((ts.isImportDeclaration(st) || ts.isExportDeclaration(st)) && st.moduleSpecifier) {
      const target = resolveSpec(f, st.moduleSpecifier.text)
      if (!target) continue
      if (ts.isExportDeclaration(st)) {
        if (!st.exportClause) use(target, '*')
        else if (ts.isNamedExports(st.exportClause))
          for (const e of st.exportClause.elements) use(target, (e.propertyName ?? e.name).text)
        continue
      }
      const c = st.importClause
      if (!c) continue
      if (c.name) use(target, 'default')
      if (c.namedBindings && ts.isNamespaceImport(c.namedBindings)) use(target, '*')
      else if (c.namedBindings)
        for (const e of c.namedBindings.elements) use(target, (e.propertyName ?? e.name).text)
    }
  }
  // dynamic imports: import('./x.js') takes everything
  for (const m of sf.text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) {
    const target = resolveSpec(f, m[1])
    if (target) use(target, '*')
  }
  if (/\/(src|commands)\//.test(f)) exported.set(f, mine)
}
let n = 0
let dead = 0
for (const [f, names] of exported) {
  const u = used.get(f) ?? new Set()
  if (u.has('*')) continue
  const text = readFileSync(f, 'utf8')
  for (const { name, isType } of names) {
    if (u.has(name) || name === 'default' || (isType && !process.argv.includes('--types'))) continue
    const local = (text.match(new RegExp(`\\b${name.replace(/\$/g, '\\$')}\\b`, 'g')) ?? []).length > 1
    if (local && !process.argv.includes('--all')) continue
    console.log(`${relative(ROOT, f)}: ${name} (${local ? 'export unneeded' : 'dead'})`)
    n++
    if (!local) dead++
  }
}
if (n > 0 || !process.argv.includes('--quiet'))
  console.log(
    `${n} export${n === 1 ? '' : 's'} listed, ${dead} dead (no module uses ${dead === 1 ? 'it' : 'them'})`,
  )
if (dead > 0) process.exitCode = 1
// members: named nowhere as .name / name( / { name } outside their declaration
if (!process.argv.includes('--members')) process.exit()
const all = files.map((f) => readFileSync(f, 'utf8')).join('\n')
const hits = (name) => (all.match(new RegExp(`(\\.|\\?\\.)${name}\\b|\\b${name}\\s*[,}:]`, 'g')) ?? []).length
let m = 0
for (const x of members) {
  if (hits(x.name) > 0) continue
  console.log(`${relative(ROOT, x.file)}: ${x.cls}.${x.name} (member named nowhere else)`)
  m++
}
console.log(`${m} public class member${m === 1 ? '' : 's'} named nowhere`)
