import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { fixture, hep, start } from '../helpers/cli.js'
import { havePty, onTerminal } from '../helpers/pty.js'

const port = async (r: ReturnType<typeof start>) =>
  Number((await r.waitFor(/listening on udp [^ ]+:(\d+)/))[1])

describe('hep listen --calls', () => {
  it('in a pipe: one JSON object per call, the calls of what arrived (hep-v3.hex: 3 calls of 13 messages)', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--calls', '--json', '--count', '39'])
    const p = await port(l)
    expect((await hep(['send', fixture('hep/hep-v3.hex'), '--to', `127.0.0.1:${p}`])).code).toBe(0)
    expect(await l.exited).toBe(0)
    const lines = l
      .stdout()
      .trimEnd()
      .split('\n')
      .map((x) => JSON.parse(x) as Record<string, unknown>)
    const calls = lines.filter((x) => x.callId !== undefined)
    expect(calls.map((c) => [c.callId, c.method, c.messages, c.finalStatus, c.captureIds])).toEqual([
      ['1-20396@127.0.0.1', 'INVITE', 13, 200, [2001]],
      ['2-20396@127.0.0.1', 'INVITE', 13, 200, [2001]],
      ['3-20396@127.0.0.1', 'INVITE', 13, 200, [2001]],
    ])
    // the same as hep calls of the same packets
    const offline = await hep(['calls', fixture('hep/hep-v3.hex'), '--json'])
    expect(
      offline.stdout
        .trimEnd()
        .split('\n')
        .slice(0, 3)
        .map((x) => JSON.parse(x) as unknown),
    ).toEqual(calls)
  })

  it('human rows in a pipe: a header, a date line, one row per call', async () => {
    const l = start(['listen', '--udp', '127.0.0.1:0', '--calls', '--count', '39'])
    const p = await port(l)
    await hep(['send', fixture('hep/hep-v3.hex'), '--to', `127.0.0.1:${p}`])
    expect(await l.exited).toBe(0)
    const out = l.stdout().trimEnd().split('\n')
    expect(out[0]).toMatch(/^START\s+DURATION\s+METHOD\s+FROM\s+TO\s+STATUS\s+MSGS\s+CALL-ID\s+SEEN BY$/)
    expect(out[1]).toBe('2026-11-23 (UTC)')
    expect(out.slice(2)).toHaveLength(3)
    for (const row of out.slice(2))
      expect(row).toMatch(
        / INVITE +sipp@127\.0\.0\.1 +service@127\.0\.0\.1 +200 OK +13 \d-20396@127\.0\.0\.1 +2001$/,
      )
  })

  it.skipIf(!havePty())(
    'on a terminal: the table is redrawn while listening, and printed whole at Ctrl-C',
    () => {
      const hex = readFileSync(fixture('hep/hep-v3.hex'), 'utf8').trim().split('\n')
      // Ctrl-C once the live table shows the last call complete (its 13 messages, the final 200 OK)
      const r = onTerminal(['listen', '--udp', '127.0.0.1:0', '--calls'], {
        columns: 140,
        rows: 30,
        udp: { portFrom: 'listening on udp [^ ]+:(\\d+)', hex },
        ctrlCWhen: '200 OK +13 3-20396@127\\.0\\.0\\.1',
        timeoutMs: 20_000,
      })
      expect(r.code).toBe(0)
      const live = r.beforeCtrlC.replace(/\r/g, '')
      const after = r.afterCtrlC.replace(/\r/g, '')
      // redrawn while listening: the screen cleared, the header, the three calls
      const lastDraw = live.slice(live.lastIndexOf('\x1b[H\x1b[2J'))
      expect(live).toContain('\x1b[H\x1b[2J')
      expect(lastDraw).toContain('START')
      expect(lastDraw.match(/\d-20396@127\.0\.0\.1/g)).toHaveLength(3)
      // at stop, the whole table
      const table = after.slice(after.lastIndexOf('\x1b[H\x1b[2J'))
      expect(table.match(/200 OK +13 \d-20396@127\.0\.0\.1/g)).toHaveLength(3)
      expect(table).toContain('2026-11-23 (UTC)')
    },
  )
})
