/** Destination and listen address syntax of docs/CLI.md, and the errors for bad input. */
import { describe, expect, it } from 'vitest'
import { HepError } from '../../src/errors.js'
import { parseDestination, parseListenAddress } from '../../src/net/index.js'

describe('parseDestination', () => {
  it.each([
    ['10.0.0.2:9060', 'udp', '10.0.0.2', 9060, '', 'udp://10.0.0.2:9060'],
    ['10.0.0.2', 'udp', '10.0.0.2', 9060, '', 'udp://10.0.0.2:9060'],
    ['capture.example.com:5656', 'udp', 'capture.example.com', 5656, '', 'udp://capture.example.com:5656'],
    ['[::1]:9061', 'udp', '::1', 9061, '', 'udp://[::1]:9061'],
    ['[::1]', 'udp', '::1', 9060, '', 'udp://[::1]:9060'],
    ['::1', 'udp', '::1', 9060, '', 'udp://[::1]:9060'],
    ['udp://127.0.0.1:9060', 'udp', '127.0.0.1', 9060, '', 'udp://127.0.0.1:9060'],
    ['tcp://127.0.0.1', 'tcp', '127.0.0.1', 9060, '', 'tcp://127.0.0.1:9060'],
    ['TCP://host:1/', 'tcp', 'host', 1, '', 'tcp://host:1'],
    ['tls://[2001:db8::1]:9061', 'tls', '2001:db8::1', 9061, '', 'tls://[2001:db8::1]:9061'],
    ['ws://localhost:9062', 'ws', 'localhost', 9062, '/', 'ws://localhost:9062/'],
    ['ws://localhost:80/hep?x=1', 'ws', 'localhost', 80, '/hep?x=1', 'ws://localhost:80/hep?x=1'],
    ['wss://h?token=a', 'wss', 'h', 9060, '/?token=a', 'wss://h:9060/?token=a'],
    ['  tcp://h:9  ', 'tcp', 'h', 9, '', 'tcp://h:9'],
  ])('%s', (text, transport, host, port, path, url) => {
    expect(parseDestination(text)).toEqual({ transport, host, port, path, url })
  })

  it.each([
    ['', /empty/],
    ['http://h:80', /unknown scheme "http:\/\/"; use udp:\/\/, tcp:\/\//],
    ['h:99999', /port 99999 is out of range/],
    ['h:0', /port 0 is out of range \(1\.\.65535\)/],
    ['h:abc', /port "abc" is not a number/],
    ['tcp://h:9060/path', /a tcp destination has no path/],
    ['[::1', /missing "]"/],
    ['[10.0.0.1]:9060', /not an IPv6 address/],
    ['[::1]x', /unexpected "x" after "]"/],
    ['::1:9060', /ambiguous IPv6 address: write \[::1\]:9060/],
    ['a:b:c', /write IPv6 addresses in brackets/],
    ['tcp://', /the host is missing/],
    ['tcp://user@h', /user names/],
    ['bad host:9060', /"bad host" is not a host name or IP address/],
    [':9060', /the host is empty/],
  ])('rejects %j', (text, re) => {
    let err: unknown
    try {
      parseDestination(text)
    } catch (e) {
      err = e
    }
    expect(err).toBeInstanceOf(HepError)
    expect((err as HepError).code).toBe('NET')
    expect((err as HepError).message).toContain(`destination "${text}"`)
    expect((err as HepError).message).toMatch(re)
  })
})

describe('parseDestination: a port without a host, numbers that are no address (issue #10)', () => {
  it.each([
    // the resolver would take "9060" as the IPv4 address 0.0.35.100
    ['9060', 'no host, only a port; did you mean 127.0.0.1:9060?'],
    [':9060', 'the host is empty; did you mean 127.0.0.1:9060?'],
    ['tcp://9060', 'did you mean tcp://127.0.0.1:9060?'],
    ['ws://:9062/hep', 'did you mean ws://127.0.0.1:9062?'],
    ['70000', 'port 70000 is out of range (1..65535)'],
    ['0', 'port 0 is out of range (1..65535)'],
    ['1.2.3:9060', '"1.2.3" is not an IPv4 address'],
    ['10.0.0.256', '"10.0.0.256" is not an IPv4 address'],
    ['::1:9060', 'write [::1]:9060 for port 9060'],
    ['h:70000', 'port 70000 is out of range (1..65535)'],
  ])('%j is refused: %s', (text, says) => {
    expect(() => parseDestination(text)).toThrow(HepError)
    expect(() => parseDestination(text)).toThrow(`destination "${text}": `)
    expect(() => parseDestination(text)).toThrow(says)
  })

  it('still takes host names that start with a digit, and IPv4 addresses', () => {
    expect(parseDestination('1and1.example:9060').host).toBe('1and1.example')
    expect(parseDestination('10.0.0.2').host).toBe('10.0.0.2')
  })
})

describe('parseListenAddress', () => {
  it.each([
    ['9060', '0.0.0.0', 9060],
    ['0', '0.0.0.0', 0],
    ['127.0.0.1:9060', '127.0.0.1', 9060],
    ['[::]:9060', '::', 9060],
    ['[::1]:0', '::1', 0],
    ['[::1]', '::1', 9060],
    ['::1', '::1', 9060],
    ['::', '::', 9060],
    ['localhost:5656', 'localhost', 5656],
    ['127.0.0.1', '127.0.0.1', 9060],
  ])('%s', (text, host, port) => {
    expect(parseListenAddress(text)).toEqual({ host, port })
  })

  it('takes a port number and a default host', () => {
    expect(parseListenAddress(9061)).toEqual({ host: '0.0.0.0', port: 9061 })
    expect(parseListenAddress('9061', '::')).toEqual({ host: '::', port: 9061 })
  })

  it.each([
    ['', /empty/],
    ['70000', /out of range/],
    ['tcp://0.0.0.0:9060', /without a scheme/],
    ['::1:9060', /ambiguous/],
    ['host:port', /port "port" is not a number/],
    ['1.2.3:9060', /"1.2.3" is not an IPv4 address/],
  ])('rejects %j', (text, re) => {
    expect(() => parseListenAddress(text)).toThrow(re)
    expect(() => parseListenAddress(text)).toThrow(`listen address "${text}"`)
  })

  it('rejects a port number out of range', () => {
    expect(() => parseListenAddress(-1)).toThrow(/not a port/)
  })
})
