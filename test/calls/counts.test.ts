// hep calls: every count of its summary says what it counts, and they add up. The calls read are
// listed + filtered out + not failed (--failed); the packets read are the SIP messages + those
// skipped by reason (+ the followed call's RTCP reports); "listed before their end" counts listed
// calls only (it counted calls the filters left out); what --flow does not keep is counted as
// messages and as reports apart (one number mixed both).
import { describe, expect, it } from 'vitest'
import type { CallSummary } from '../../src/calls/call.js'
import { CallCollector } from '../../src/calls/collect.js'
import { CallTable } from '../../src/calls/table.js'
import type { HepPacket } from '../../src/hep/packet.js'
import { scanSip } from '../../src/sip/scan.js'
import { fixture, hep } from '../helpers/cli.js'

const ALL = fixture('calls/calls-all.pcap') // 4 calls (2 failed: 487, 486; one REGISTER), 41 messages

interface Summary {
  calls: number
  failed: number
  filteredOut: number
  notFailed: number
  early: number
  messages: number
  packets: number
  malformed: number
  skipped: Record<string, number>
}

const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0)

function options(callId: string, cseq: string): Buffer {
  return Buffer.from(
    `OPTIONS sip:b@x SIP/2.0\r\nFrom: <sip:a@x>;tag=1\r\nTo: <sip:b@x>\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`,
  )
}

describe('hep calls: the summary adds up', () => {
  it.each([
    [[], 4, 0, 0, 2],
    [['--failed'], 2, 0, 2, 2],
    [['--method', 'INVITE'], 3, 1, 0, 2],
    [['--method', 'INVITE', '--failed'], 2, 1, 1, 2],
    [['--method', 'NOTIFY'], 0, 4, 0, 0],
  ])('%j: calls + filtered out + not failed = 4', async (args, calls, filteredOut, notFailed, failed) => {
    const r = await hep(['calls', ALL, '--json', ...args])
    expect(r.code).toBe(0)
    const s = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) as string) as Summary
    expect(s).toMatchObject({ summary: true, calls, filteredOut, notFailed, failed, early: 0 })
    expect(s.calls + s.filteredOut + s.notFailed).toBe(4)
    expect(s.messages + sum(s.skipped)).toBe(s.packets)
    expect(s.messages).toBe(41)
    // the text summary says the same
    const t = await hep(['calls', ALL, ...args])
    const line = t.stderr.trimEnd().split('\n').at(-1) as string
    expect(line).toContain(`${calls} call${calls === 1 ? '' : 's'} listed (${failed} failed)`)
    if (filteredOut > 0) expect(line).toContain(`, ${filteredOut} filtered out`)
    else expect(line).not.toContain('filtered out')
    if (notFailed > 0) expect(line).toContain(`, ${notFailed} not failed`)
    else expect(line).not.toContain('not failed')
    expect(line).toMatch(/; read 41 packets: 41 SIP messages$/)
  })

  it('packets other than SIP are skipped by reason: packets = SIP messages + skipped', async () => {
    const r = await hep(['calls', fixture('rtcp/linphone-ipv4.pcap'), '--json'])
    const s = JSON.parse(r.stdout.trimEnd().split('\n').at(-1) as string) as Summary
    expect(s).toMatchObject({ calls: 1, messages: 7, packets: 19, skipped: { RTCP: 12 } })
    const t = await hep(['calls', fixture('rtcp/linphone-ipv4.pcap')])
    expect(t.stderr).toContain(
      '1 call listed (0 failed); read 19 packets: 7 SIP messages, skipped: 12 RTCP\n',
    )
  })
})

describe('the call table: early counts listed calls only', () => {
  it('calls no message of which passed the filter are "unmatched", never "early", when maxCalls are held', () => {
    const out: [CallSummary, boolean][] = []
    const table = new CallTable({ maxCalls: 10, onCall: (c, early) => out.push([c, early]) })
    // 30 calls that never end (an OPTIONS without answer), one in three matched by the filter
    for (let i = 0; i < 30; i++) {
      const payload = options(`c${i}`, '1 OPTIONS')
      table.add(`c${i}`, { sip: scanSip(payload)!, payload, timeUs: i * 1e6 }, i % 3 === 0)
    }
    // 20 were pushed out by the bound: 7 of them matched (c0, c3 ... c18)
    expect(table.stats).toMatchObject({ messages: 30, calls: 7, unmatched: 13, early: 7 })
    expect(out.filter(([, e]) => e)).toHaveLength(7)
    table.flush()
    expect(table.stats).toMatchObject({ calls: 10, unmatched: 20, early: 7 })
    expect(table.stats.calls + table.stats.unmatched).toBe(30)
    expect(out.map(([c]) => c.callId)).toEqual(Array.from({ length: 10 }, (_, k) => `c${k * 3}`))
  })
})

describe('--flow beyond what it keeps: messages and reports counted apart', () => {
  it('a flow limit of 2: 5 messages and 4 reports of the call give 3 messages and 2 reports not kept', () => {
    const col = new CallCollector({ onCall: () => {}, flow: 'f', flowLimit: 2 })
    const sip = (n: number): HepPacket => ({
      version: 3,
      payloadType: 1,
      timeSeconds: n,
      payload: options('f', `${n} OPTIONS`),
    })
    const rtcp = (n: number, id: string): HepPacket => ({
      version: 3,
      payloadType: 5,
      timeSeconds: n,
      correlationId: id,
      payload: Buffer.from('{}'),
    })
    for (let n = 1; n <= 5; n++) col.packet(sip(n))
    for (let n = 1; n <= 4; n++) col.packet(rtcp(n, 'f'))
    col.packet(rtcp(9, 'other'))
    col.end()
    expect(col.flowMessages).toHaveLength(2)
    expect(col.flowReports).toHaveLength(2)
    expect(col.flowMessagesDropped).toBe(3)
    expect(col.flowReportsDropped).toBe(2)
    // 10 packets = 5 SIP messages + 4 reports of the call + 1 RTCP skipped
    expect(col.stats.messages + col.flowReports.length + col.flowReportsDropped + sum(col.skipped)).toBe(10)
  })
})

describe('readCalls waits for its output (--output-buffer on calls)', () => {
  it('reading stops while `drained` has not resolved', async () => {
    const { mkdtempSync, writeFileSync, rmSync } = await import('node:fs')
    const { tmpdir } = await import('node:os')
    const { join } = await import('node:path')
    const { readCalls } = await import('../../src/calls/read.js')
    const { writePcap } = await import('../helpers/mini-pcap.js')
    const { ipv4, udp } = await import('../pcap/build.js')
    const dir = mkdtempSync(join(tmpdir(), 'hep-calls-drain-'))
    const file = join(dir, 'many.pcap')
    // 20,000 one-message calls, one a second: several reads of the capture
    writeFileSync(
      file,
      writePcap(
        101,
        Array.from({ length: 20_000 }, (_, i) => ipv4(udp(5060, 5060, options(`call-${i}`, '1 OPTIONS')))),
      ),
    )
    let release!: () => void
    const gate = new Promise<void>((r) => (release = r))
    let waits = 0
    let rows = 0
    const done = readCalls({
      files: [file],
      onCall: () => rows++,
      drained: () => {
        waits++
        return gate
      },
    })
    await new Promise((r) => setTimeout(r, 300))
    expect(waits).toBe(1) // held after the first batch
    const before = rows
    await new Promise((r) => setTimeout(r, 100))
    expect(rows).toBe(before)
    release()
    const result = await done
    expect(waits).toBeGreaterThan(1)
    expect(result.packets).toBe(20_000)
    expect(rows).toBe(20_000)
    rmSync(dir, { recursive: true, force: true })
  })
})
