/**
 * The oracles tshark wrote (fixtures/captures/*.sip.tsv, *.fields.tsv): a header line of field names,
 * then one tab-separated row per frame. Rows come back as objects; a field a row lacks is ''.
 */
import { readFileSync } from 'node:fs'

export type TsvRow = Readonly<Record<string, string>>

/** Reads a tshark TSV; `require` lists columns that must be in the header. */
export function readTsv(path: string, require: readonly string[] = []): TsvRow[] {
  const [head, ...lines] = readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '')
  const cols = head.split('\t')
  for (const c of require) if (!cols.includes(c)) throw new Error(`${path}: no column ${c}`)
  return lines.map((l) => {
    const v = l.split('\t')
    const row: Record<string, string> = {}
    for (const [i, c] of cols.entries()) row[c] = v[i] ?? ''
    return row
  })
}

/** A field of a row ('' when the file has no such column). */
export function field(row: TsvRow, name: string): string {
  return row[name] ?? ''
}
