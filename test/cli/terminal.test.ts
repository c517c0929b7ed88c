// What a person sees on a terminal (a pseudo-terminal, 80 columns): a progress line that moves and
// is cleared before the summary and on Ctrl-C, nothing starting on the ^C line, and tables and lines
// that fit the width. Not on a pipe: there, no progress line and every character.
import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'
import { havePty, onTerminal, screen } from '../helpers/pty.js'

const udpSink = async () => {
  const s = createSocket('udp4')
  s.on('message', () => {})
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r))
  return s
}

describe.skipIf(!havePty())('on a terminal (python3 pty, 80 columns)', () => {
  it('replay: the progress line updates several times a second and is cleared before the summary', async () => {
    const sink = await udpSink()
    // sip-rtp.pcap: 6 SIP messages over 7.5 s; --speed 3 plays it in about 2.5 s
    const t = onTerminal([
      'replay',
      fixture('captures/sip-rtp.pcap'),
      '--to',
      `127.0.0.1:${sink.address().port}`,
      '--speed',
      '3',
    ])
    sink.close()
    expect(t.code).toBe(0)
    const drawn = [...t.out.matchAll(/replay: (\d+) packets? sent, ([\d.]+) s elapsed/g)]
    // redrawn from live figures: the elapsed time moves while nothing is sent (8 a second, 2.5 s)
    const elapsed = new Set(drawn.map((m) => m[2]))
    expect(elapsed.size).toBeGreaterThanOrEqual(10)
    expect(Number(drawn[drawn.length - 1][1])).toBeGreaterThanOrEqual(5)
    const lines = screen(t.out)
    // nothing of the progress line stays on screen; the summary is what is left
    expect(lines.some((l) => l.includes('replay:'))).toBe(false)
    expect(lines.join('\n')).toMatch(/packets sent\s+│ 6 /)
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80)
  })

  it('replay: Ctrl-C clears the progress line; the summary starts on a clean line', async () => {
    const sink = await udpSink()
    const t = onTerminal(
      ['replay', fixture('captures/sip-rtp.pcap'), '--to', `127.0.0.1:${sink.address().port}`],
      {
        ctrlCAfter: 'replay: ',
        ctrlCDelayMs: 800,
      },
    )
    sink.close()
    expect(t.code, t.out).toBe(0)
    expect(t.ms).toBeLessThan(1500)
    const lines = screen(t.out)
    expect(
      lines.some((l) => l.includes('replay:')),
      JSON.stringify(t.out),
    ).toBe(false)
    expect(
      lines.some((l) => l.includes('^C')),
      JSON.stringify(t.out),
    ).toBe(false)
    expect(lines.find((l) => l.startsWith('┌'))).toBeDefined()
  })

  it('listen: after Ctrl-C the summary does not start on the ^C line', async () => {
    const t = onTerminal(['listen', '--udp', '127.0.0.1:0'], {
      ctrlCAfter: 'listening on',
      ctrlCDelayMs: 300,
    })
    expect(t.code).toBe(0)
    const lines = screen(t.out)
    const summary = lines.find((l) => l.includes('listened'))
    expect(summary).toMatch(/^listened [\d.]+ s: 0 packets/)
    expect(lines.some((l) => /\^C./.test(l))).toBe(false)
  })

  it('decode --chunks: every line fits 80 columns, values shortened with …', async () => {
    const t = onTerminal(['decode', fixture('hep/hep-v3-extras.hex'), '--chunks'])
    expect(t.code).toBe(0)
    const lines = screen(t.out)
    expect(lines.length).toBeGreaterThan(50)
    for (const l of lines) expect(l.length, l).toBeLessThanOrEqual(80)
    expect(lines.filter((l) => l.includes('…')).length).toBeGreaterThan(0)
    // a table is still a table: every row of it has the five columns
    const rows = lines.filter((l) => l.startsWith('│'))
    for (const r of rows) expect(r.split('│')).toHaveLength(7)
  })

  it.each([40, 160])('decode at %i columns: packet lines fit', async (columns) => {
    const t = onTerminal(['decode', fixture('hep/hep-v3.hex')], { columns })
    const lines = screen(t.out).filter((l) => l.startsWith('#'))
    expect(lines).toHaveLength(39)
    for (const l of lines) expect(l.length).toBeLessThanOrEqual(columns)
    if (columns === 40) expect(lines[0]).toBe('#1 2026-11-23T12:39:59.584087Z v3 id 20…')
    else
      expect(lines[0]).toBe(
        '#1 2026-11-23T12:39:59.584087Z v3 id 2001 127.0.0.1:5070 → 127.0.0.1:5060 UDP SIP INVITE sip:service@127.0.0.1:5060 SIP/2.0',
      )
  })
})

describe('not on a terminal', () => {
  it('no progress line on a pipe, and lines are not shortened', async () => {
    const r = await hep(['replay', fixture('captures/sip-udp.pcap'), '--to', '127.0.0.1:9', '--topspeed'])
    expect(r.stderr).not.toContain('replay:')
    expect(r.stderr).not.toContain('\x1b')
    const d = await hep(['decode', fixture('hep/hep-v3-extras.hex'), '--chunks'])
    expect(Math.max(...d.stdout.split('\n').map((l) => l.length))).toBeGreaterThan(100)
  })
})
