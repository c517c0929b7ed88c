import { describe, expect, it } from 'vitest'
import { isSipStart, scanSip } from '../../src/sip/scan.js'

const b = (s: string) => Buffer.from(s, 'latin1')

const INVITE = [
  'INVITE sip:bob@biloxi.example.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.example.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.example.com>',
  'From: Alice <sip:alice@atlanta.example.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.example.com',
  'CSeq: 314159 INVITE',
  'Contact: <sip:alice@pc33.atlanta.example.com>',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\n',
].join('\r\n')

describe('scanSip', () => {
  it('a request', () => {
    const info = scanSip(b(INVITE))
    expect(info).toEqual({
      kind: 'request',
      method: 'INVITE',
      requestUri: 'sip:bob@biloxi.example.com',
      statusCode: undefined,
      reason: undefined,
      callId: 'a84b4c76e66710@pc33.atlanta.example.com',
      cseq: { seq: 314159, method: 'INVITE' },
      contentLength: 4,
      headerLength: INVITE.length - 4,
      startLine: 'INVITE sip:bob@biloxi.example.com SIP/2.0',
    })
  })

  it('a response', () => {
    const msg = 'SIP/2.0 180 Ringing\r\ncall-id:  abc \r\nCSEQ:1   INVITE\r\ncontent-length: 0\r\n\r\n'
    expect(scanSip(b(msg))).toEqual({
      kind: 'response',
      method: undefined,
      requestUri: undefined,
      statusCode: 180,
      reason: 'Ringing',
      callId: 'abc',
      cseq: { seq: 1, method: 'INVITE' },
      contentLength: 0,
      headerLength: msg.length,
      startLine: 'SIP/2.0 180 Ringing',
    })
  })

  it('compact headers i: and l:, any case, whitespace before the colon', () => {
    for (const [i, l] of [
      ['i', 'l'],
      ['I', 'L'],
      ['i  ', 'l\t'],
    ]) {
      const info = scanSip(
        b(`BYE sip:x@y SIP/2.0\r\n${i}: cid-1\r\n${l}: 12\r\nCSeq: 2 BYE\r\n\r\nhello world!`),
      )
      expect(info).toMatchObject({
        method: 'BYE',
        callId: 'cid-1',
        contentLength: 12,
        cseq: { seq: 2, method: 'BYE' },
      })
    }
    const long = scanSip(b('ACK sip:x@y SIP/2.0\r\nCALL-ID : Z\r\nCONTENT-LENGTH   :   7\r\n\r\n'))
    expect(long).toMatchObject({ callId: 'Z', contentLength: 7 })
  })

  it('other compact forms and look-alike names are not taken for Call-ID / Content-Length', () => {
    const info = scanSip(
      b(
        'MESSAGE sip:x@y SIP/2.0\r\nf: <sip:a@b>\r\nt: <sip:c@d>\r\nv: SIP/2.0/UDP h\r\nm: <sip:e@f>\r\nc: text/plain\r\n' +
          'Call-Info: <http://x>\r\nContent-Language: en\r\nl2: 5\r\nContent-Lengthy: 9\r\nin: no\r\n\r\n',
      ),
    )
    expect(info).toMatchObject({ callId: undefined, contentLength: undefined, cseq: undefined })
  })

  it('the first occurrence wins; folded continuation lines are ignored', () => {
    const info = scanSip(
      b(
        'OPTIONS sip:x@y SIP/2.0\r\nCall-ID: one\r\n Call-ID: folded\r\ni: two\r\nl: 3\r\nContent-Length: 9\r\n\r\nabc',
      ),
    )
    expect(info).toMatchObject({ callId: 'one', contentLength: 3 })
  })

  it('a body containing SIP/2.0 and header-like lines does not confuse the scan', () => {
    const body = 'SIP/2.0 200 OK\r\nCall-ID: body\r\nContent-Length: 99\r\n\r\nINVITE sip:z SIP/2.0\r\n'
    const msg = `MESSAGE sip:a@b SIP/2.0\r\nCSeq: 3 MESSAGE\r\nl: ${body.length}\r\n\r\n${body}`
    const info = scanSip(b(msg))
    expect(info).toMatchObject({
      kind: 'request',
      method: 'MESSAGE',
      callId: undefined,
      contentLength: body.length,
      headerLength: msg.length - body.length,
    })
  })

  it('headers without the blank line: headerLength -1; a cut last line is not trusted', () => {
    expect(scanSip(b('REGISTER sip:r SIP/2.0\r\nCall-ID: q\r\n'))).toMatchObject({
      callId: 'q',
      headerLength: -1,
    })
    expect(scanSip(b('REGISTER sip:r SIP/2.0\r\nCall-ID: q\r\nContent-Length: 12'))).toMatchObject({
      contentLength: undefined,
      headerLength: -1,
    })
    expect(scanSip(b('OPTIONS sip:r SIP/2.0\r\n\r\n'))).toMatchObject({ headerLength: 25 })
  })

  it('Content-Length and CSeq values that are not numbers', () => {
    const info = scanSip(b('SIP/2.0 200 OK\r\nContent-Length: abc\r\nCSeq: x INVITE\r\n\r\n'))
    expect(info).toMatchObject({ contentLength: undefined, cseq: undefined })
    expect(scanSip(b('SIP/2.0 200 OK\r\nCSeq: 12\r\n\r\n'))?.cseq).toBeUndefined()
    expect(scanSip(b('SIP/2.0 200 OK\r\nl: 12abc\r\n\r\n'))?.contentLength).toBeUndefined()
    expect(scanSip(b('SIP/2.0 200 OK\r\nl: 1 2\r\n\r\n'))?.contentLength).toBeUndefined()
    expect(scanSip(b('SIP/2.0 200 OK\r\nCSeq: 4294967295 BYE\r\n\r\n'))?.cseq).toEqual({
      seq: 4294967295,
      method: 'BYE',
    })
    expect(scanSip(b('SIP/2.0 200 OK\r\nCSeq: 12 IN VITE\r\n\r\n'))?.cseq).toBeUndefined()
  })

  it('status lines: reason phrases with spaces and UTF-8, empty reasons', () => {
    expect(scanSip(b('SIP/2.0 486 Busy Here\r\n\r\n'))).toMatchObject({
      statusCode: 486,
      reason: 'Busy Here',
    })
    expect(scanSip(Buffer.from('SIP/2.0 603 Décliné\r\n\r\n'))).toMatchObject({
      statusCode: 603,
      reason: 'Décliné',
    })
    expect(scanSip(b('SIP/2.0 200 \r\n\r\n'))).toMatchObject({ statusCode: 200, reason: '' })
    expect(scanSip(b('SIP/2.0 200\r\n\r\n'))).toMatchObject({ statusCode: 200, reason: '' })
  })

  it('extension methods and URI schemes', () => {
    expect(scanSip(b('X-CUSTOM.1 sips:a@b;transport=tls SIP/2.0\r\n\r\n'))).toMatchObject({
      method: 'X-CUSTOM.1',
      requestUri: 'sips:a@b;transport=tls',
    })
    expect(scanSip(b('INVITE tel:+15551234 SIP/2.0\r\n\r\n'))).toMatchObject({ requestUri: 'tel:+15551234' })
  })
})

describe('non-SIP is rejected', () => {
  const bad: [string, Buffer][] = [
    ['empty', Buffer.alloc(0)],
    ['keep-alive CRLFCRLF', b('\r\n\r\n')],
    ['no CRLF after the request line', b('INVITE sip:x@y SIP/2.0')],
    ['LF only', b('INVITE sip:x@y SIP/2.0\nCall-ID: x\n\n')],
    ['wrong version', b('INVITE sip:x@y SIP/3.0\r\n\r\n')],
    ['lowercase version', b('INVITE sip:x@y sip/2.0\r\n\r\n')],
    ['HTTP', b('GET / HTTP/1.1\r\nHost: x\r\n\r\n')],
    ['HTTP response', b('HTTP/1.1 200 OK\r\n\r\n')],
    ['URI without scheme', b('INVITE bob SIP/2.0\r\n\r\n')],
    ['two spaces', b('INVITE  sip:x SIP/2.0\r\n\r\n')],
    ['method with a non-token char', b('INV(TE sip:x SIP/2.0\r\n\r\n')],
    ['trailing junk after the version', b('INVITE sip:x SIP/2.0 x\r\n\r\n')],
    ['status code 99', b('SIP/2.0 099 Nope\r\n\r\n')],
    ['status code 700', b('SIP/2.0 700 Nope\r\n\r\n')],
    ['status code 2 digits', b('SIP/2.0 20 OK\r\n\r\n')],
    ['status code 4 digits', b('SIP/2.0 2000 OK\r\n\r\n')],
    ['status without SP', b('SIP/2.0200 OK\r\n\r\n')],
    ['control char in reason', b('SIP/2.0 200 O\x00K\r\n\r\n')],
    ['RTP', Buffer.from('80000001000000a0deadbeef' + 'ff'.repeat(160), 'hex')],
    ['DNS query', Buffer.from('12340100000100000000000003777777076578616d706c6503636f6d0000010001', 'hex')],
    ['STUN', Buffer.from('000100002112a442b7e7a701bc34d686fa87dfae', 'hex')],
  ]
  it.each(bad)('%s', (_name, buf) => {
    expect(isSipStart(buf)).toBe(false)
    expect(scanSip(buf)).toBeUndefined()
  })

  it('random bytes', () => {
    let seed = 7
    const rnd = () => ((seed = (seed * 1103515245 + 12345) >>> 0) >>> 16) & 0xff
    for (let n = 0; n < 2000; n++) {
      const buf = Buffer.alloc(1 + (n % 300))
      for (let i = 0; i < buf.length; i++) buf[i] = rnd()
      expect(scanSip(buf)).toBeUndefined()
    }
  })

  it('isSipStart agrees with scanSip', () => {
    expect(isSipStart(b(INVITE))).toBe(true)
    expect(isSipStart(b('SIP/2.0 100 Trying\r\n'))).toBe(true)
    // only the start line is needed
    expect(isSipStart(b('BYE sip:a@b SIP/2.0\r\n'))).toBe(true)
  })
})
