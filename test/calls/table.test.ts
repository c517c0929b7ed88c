import { describe, expect, it } from 'vitest'
import type { CallSummary } from '../../src/calls/call.js'
import { nameAddr, scanParties, userAtHost } from '../../src/calls/headers.js'
import { CallTable } from '../../src/calls/table.js'
import { scanSip } from '../../src/sip/scan.js'

/** A SIP message: a start line, Call-ID, CSeq, From and To (the To tag when given). */
function sip(start: string, callId: string, cseq: string, toTag?: string): Buffer {
  return Buffer.from(
    `${start}\r\nVia: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1\r\nFrom: "A" <sip:alice@a.example:5060>;tag=f1\r\n` +
      `To: <sip:bob@b.example>${toTag ? `;tag=${toTag}` : ''}\r\nCall-ID: ${callId}\r\nCSeq: ${cseq}\r\nContent-Length: 0\r\n\r\n`,
  )
}

function feed(
  table: CallTable,
  callId: string,
  t: number,
  start: string,
  cseq: string,
  toTag?: string,
): void {
  const payload = sip(start, callId, cseq, toTag)
  const s = scanSip(payload)
  if (!s) throw new Error('not SIP: ' + start)
  table.add(callId, { sip: s, payload, timeUs: t * 1e6 })
}

function collect(opts: Partial<ConstructorParameters<typeof CallTable>[0]> = {}) {
  const out: CallSummary[] = []
  const table = new CallTable({ ...opts, onCall: (c) => out.push(c) })
  return { table, out }
}

describe('the final status of a call', () => {
  it('REGISTER challenged (401) and sent again with credentials: the second attempt counts (200)', () => {
    const { table, out } = collect()
    feed(table, 'r1', 0, 'REGISTER sip:b.example SIP/2.0', '1 REGISTER')
    feed(table, 'r1', 0.01, 'SIP/2.0 401 Unauthorized', '1 REGISTER', 'x')
    feed(table, 'r1', 0.02, 'REGISTER sip:b.example SIP/2.0', '2 REGISTER')
    feed(table, 'r1', 0.03, 'SIP/2.0 200 OK', '2 REGISTER', 'x')
    table.flush()
    expect(out).toMatchObject([{ method: 'REGISTER', finalStatus: 200, reason: 'OK', messages: 4 }])
  })

  it("the second attempt unanswered: no final (the 401 was the first attempt's)", () => {
    const { table, out } = collect()
    feed(table, 'r2', 0, 'REGISTER sip:b.example SIP/2.0', '1 REGISTER')
    feed(table, 'r2', 0.01, 'SIP/2.0 401 Unauthorized', '1 REGISTER', 'x')
    feed(table, 'r2', 0.02, 'REGISTER sip:b.example SIP/2.0', '2 REGISTER')
    table.flush()
    expect(out[0].finalStatus).toBeUndefined()
  })

  it("a re-INVITE inside the dialog (To tag) answered 491 leaves the call at its 200; BYE's 200 is not the final", () => {
    const { table, out } = collect()
    feed(table, 'c1', 0, 'INVITE sip:bob@b.example SIP/2.0', '1 INVITE')
    feed(table, 'c1', 0.1, 'SIP/2.0 180 Ringing', '1 INVITE', 't')
    feed(table, 'c1', 0.2, 'SIP/2.0 200 OK', '1 INVITE', 't')
    feed(table, 'c1', 0.3, 'ACK sip:bob@b.example SIP/2.0', '1 ACK', 't')
    feed(table, 'c1', 5, 'INVITE sip:bob@b.example SIP/2.0', '2 INVITE', 't')
    feed(table, 'c1', 5.1, 'SIP/2.0 491 Request Pending', '2 INVITE', 't')
    feed(table, 'c1', 9, 'BYE sip:bob@b.example SIP/2.0', '3 BYE', 't')
    feed(table, 'c1', 9.1, 'SIP/2.0 481 Call Does Not Exist', '3 BYE', 't')
    table.flush()
    expect(out).toMatchObject([
      { method: 'INVITE', finalStatus: 200, messages: 8, from: 'alice@a.example', to: 'bob@b.example' },
    ])
    expect(out[0].endUs - out[0].startUs).toBe(9.1e6)
  })

  it('behind a proxy the last final response counts (what the caller got); a capture starting with responses has no method', () => {
    const { table, out } = collect()
    feed(table, 'p1', 0, 'INVITE sip:bob@b.example SIP/2.0', '7 INVITE')
    feed(table, 'p1', 0.1, 'SIP/2.0 503 Service Unavailable', '7 INVITE', 'u')
    feed(table, 'p1', 0.2, 'SIP/2.0 500 Server Error', '7 INVITE', 'p')
    feed(table, 'p2', 0.3, 'SIP/2.0 200 OK', '1 INVITE', 'u')
    table.flush()
    expect(out.map((c) => [c.callId, c.method, c.finalStatus])).toEqual([
      ['p1', 'INVITE', 500],
      ['p2', undefined, undefined],
    ])
  })
})

describe('bounded memory', () => {
  it('finished calls are emitted once quiet for the linger time, in order of start, and forgotten', () => {
    const { table, out } = collect({ lingerSeconds: 32 })
    let held = 0
    // 20,000 short calls, one every 10 ms of capture time (200 s in all)
    for (let i = 0; i < 20_000; i++) {
      const t = i * 0.01
      const id = `call-${i}`
      feed(table, id, t, 'INVITE sip:bob@b.example SIP/2.0', '1 INVITE')
      feed(table, id, t + 0.001, 'SIP/2.0 486 Busy Here', '1 INVITE', 'x')
      feed(table, id, t + 0.002, 'ACK sip:bob@b.example SIP/2.0', '1 ACK', 'x')
      held = Math.max(held, table.size)
    }
    // at most the calls of the last 32 s (+ 100 ms between looks at the head) are held
    expect(held).toBeLessThanOrEqual(3_300)
    expect(out.length).toBeGreaterThan(16_000)
    table.flush()
    expect(out).toHaveLength(20_000)
    expect(out.map((c) => c.callId)).toEqual(Array.from({ length: 20_000 }, (_, i) => `call-${i}`))
    expect(table.stats).toMatchObject({ messages: 60_000, calls: 20_000, early: 0 })
  })

  it('an answered call without BYE holds the ones after it until maxCalls, then is emitted early and counted', () => {
    const { table, out } = collect({ lingerSeconds: 1, maxCalls: 100 })
    feed(table, 'long', 0, 'INVITE sip:bob@b.example SIP/2.0', '1 INVITE')
    feed(table, 'long', 0.1, 'SIP/2.0 200 OK', '1 INVITE', 'x')
    for (let i = 0; i < 150; i++) {
      feed(table, `s${i}`, 1 + i, 'OPTIONS sip:bob@b.example SIP/2.0', '1 OPTIONS')
      feed(table, `s${i}`, 1 + i + 0.01, 'SIP/2.0 200 OK', '1 OPTIONS', 'x')
      expect(table.size).toBeLessThanOrEqual(101)
    }
    expect(out[0].callId).toBe('long')
    expect(table.stats.early).toBe(1)
    table.flush()
    expect(out).toHaveLength(151)
  })

  it('a call quiet for idleSeconds is emitted whatever its state', () => {
    const { table, out } = collect({ idleSeconds: 60 })
    feed(table, 'ringing', 0, 'INVITE sip:bob@b.example SIP/2.0', '1 INVITE')
    feed(table, 'later', 61, 'OPTIONS sip:bob@b.example SIP/2.0', '1 OPTIONS')
    expect(out.map((c) => c.callId)).toEqual(['ringing'])
  })
})

describe('From and To as user@host', () => {
  it.each([
    ['"Alice" <sip:alice@10.0.0.1:5070;transport=udp>;tag=1', 'alice@10.0.0.1', ';tag=1'],
    ['<sips:bob@example.com>', 'bob@example.com', ''],
    ['sip:carol@host.example;tag=9', 'carol@host.example', ';tag=9'],
    ['<sip:[2001:db8::1]:5060>', '[2001:db8::1]', ''],
    ['<sip:dave:secret@[::1]:5060>', 'dave@[::1]', ''],
    ['<tel:+4930123456;phone-context=x>', '+4930123456', ''],
  ])('%s', (value, who, params) => {
    expect(nameAddr(value)).toEqual({ who, params })
  })

  it('compact headers, any case; the To tag', () => {
    const b = Buffer.from(
      'BYE sip:x SIP/2.0\r\nf: <sip:a@h1>;tag=1\r\nT :  sip:b@h2 ;tag=zz\r\nFrom: <sip:late@h>\r\n\r\nbody f: no',
    )
    expect(scanParties(b)).toEqual({ from: 'a@h1', to: 'b@h2', toTag: 'zz' })
    expect(userAtHost('')).toBeUndefined()
  })
})
