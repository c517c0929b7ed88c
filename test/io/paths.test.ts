// checkInput / checkOutput (src/input/paths.ts): what is refused before work starts, and what is not.
import { mkdirSync, mkdtempSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { checkInput, checkOutput, pathProblems, PathError } from '../../src/input/paths.js'

const tmp = () => mkdtempSync(join(tmpdir(), 'hep-paths-'))
const message = (f: () => void) => {
  try {
    f()
  } catch (e) {
    expect(e).toBeInstanceOf(PathError)
    return (e as PathError).message
  }
  return undefined
}

describe('paths checked before work starts', () => {
  it('inputs: missing, a directory, a part of the path that is a file', () => {
    const d = tmp()
    writeFileSync(join(d, 'f'), 'x')
    expect(message(() => checkInput(join(d, 'f')))).toBeUndefined()
    expect(message(() => checkInput('-'))).toBeUndefined()
    expect(message(() => checkInput(join(d, 'nope')))).toBe(`cannot read ${join(d, 'nope')}: no such file`)
    expect(message(() => checkInput(d))).toBe(`cannot read ${d}: is a directory`)
    expect(message(() => checkInput(join(d, 'f', 'g')))).toBe(
      `cannot read ${join(d, 'f', 'g')}: a part of the path is not a directory`,
    )
  })

  it('outputs: a new file in an existing folder, an existing file, /dev/null and stdout are fine', () => {
    const d = tmp()
    writeFileSync(join(d, 'old'), 'x')
    for (const out of [join(d, 'new.hex'), join(d, 'old'), '/dev/null', '-'])
      expect(message(() => checkOutput(out, [join(d, 'in.hex')]))).toBeUndefined()
    // a terminal or /dev/null read and written is no file destroyed
    expect(message(() => checkOutput('/dev/null', ['/dev/null']))).toBeUndefined()
  })

  it('outputs: a missing folder (also behind a dangling symbolic link), a file as folder, the input', () => {
    const d = tmp()
    writeFileSync(join(d, 'in'), 'x')
    mkdirSync(join(d, 'sub'))
    symlinkSync(join(d, 'gone', 'x.hex'), join(d, 'sub', 'dangling.hex'))
    expect(message(() => checkOutput(join(d, 'gone', 'x.hex')))).toBe(
      `cannot write ${join(d, 'gone', 'x.hex')}: no such directory (${join(d, 'gone')})`,
    )
    expect(message(() => checkOutput(join(d, 'sub', 'dangling.hex')))).toBe(
      `cannot write ${join(d, 'sub', 'dangling.hex')}: no such directory (${join(d, 'gone')})`,
    )
    expect(message(() => checkOutput(join(d, 'in', 'x.hex')))).toMatch(
      /: a part of the path is not a directory$/,
    )
    expect(message(() => checkOutput(`${d}/sub/../in`, [join(d, 'in')]))).toMatch(/: it is the input \(/)
  })

  it('pathProblems names every problem, inputs first, outputs against inputs and earlier outputs', () => {
    const d = tmp()
    const a = join(d, 'a.hex')
    writeFileSync(a, 'x')
    const problems = pathProblems([a, join(d, 'b.hex')], [a, join(d, 'o.pcap'), join(d, 'o.pcap')])
    expect(problems.map((p) => p.message)).toEqual([
      `cannot read ${join(d, 'b.hex')}: no such file`,
      `cannot write ${a}: it is the input; writing it would destroy what is read`,
      `cannot write ${join(d, 'o.pcap')}: it is also the output ${join(d, 'o.pcap')}`,
    ])
  })
})
