/**
 * UDP: HEP v1, v2 and v3 datagrams from the real captures arrive intact over IPv4 and IPv6; garbage
 * datagrams are reported and cost an honest sender nothing; auth key and length guards; the receive
 * buffer size; oversize packets fail with an error that points to tcp://.
 */
import { createSocket, type Socket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import { DecodeError, HepError } from '../../src/errors.js'
import { decodeDatagram } from '../../src/hep/index.js'
import {
  createSender,
  HepServer,
  MAX_DATAGRAM,
  type FailedEvent,
  type HepSender,
  type Listener,
} from '../../src/net/index.js'
import { loadHexVectors } from '../helpers/fixtures.js'
import { hep3, record, waitFor, type Recorder } from './helpers.js'

const FIXTURES = ['hep-v1', 'hep-v2', 'hep-v3', 'hep-v1-ipv6', 'hep-v2-ipv6', 'hep-v3-ipv6', 'hep-v3-extras']

let server: HepServer
let senders: HepSender[] = []
let sockets: Socket[] = []

async function start(host: string, options: ConstructorParameters<typeof HepServer>[0] = {}) {
  server = new HepServer(options)
  const rec = record(server)
  const udp = await server.listen({ transport: 'udp', host, port: 0 })
  return { rec, udp }
}

function rawSocket(type: 'udp4' | 'udp6'): Socket {
  const s = createSocket(type)
  sockets.push(s)
  return s
}

function sendRaw(s: Socket, b: Buffer, l: Listener): Promise<void> {
  return new Promise((resolve, reject) =>
    s.send(b, l.local.port, l.local.address, (e) => (e ? reject(e) : resolve())),
  )
}

afterEach(async () => {
  await Promise.all(senders.map((s) => s.close({ timeout: 500 })))
  senders = []
  for (const s of sockets) s.close()
  sockets = []
  await server?.close()
})

async function roundTrip(host: string, dest: string): Promise<{ rec: Recorder; sent: Buffer[] }> {
  const { rec, udp } = await start(host)
  const sender = createSender(`${dest}:${udp.local.port}`)
  senders.push(sender)
  const sent = FIXTURES.flatMap((name) => loadHexVectors(name))
  for (const b of sent) {
    if (!sender.send(b)) await sender.ready()
    // keep well inside the socket buffer: every 50 datagrams, wait until the listener has taken
    // them (a fixed pause let a starved receiver on a loaded machine overflow the kernel buffer)
    const submitted = sender.stats().submitted
    if (submitted % 50 === 0) {
      expect(await sender.flush(5000)).toBe(true)
      await waitFor(() => rec.packets.length >= submitted, `${submitted} packets`, 20_000)
    }
  }
  expect(await sender.flush(5000)).toBe(true)
  await waitFor(() => rec.packets.length === sent.length, `${sent.length} packets`)
  return { rec, sent }
}

describe('UDP listener', () => {
  it('receives HEP v1, v2 and v3 datagrams over IPv4 byte for byte', async () => {
    const { rec, sent } = await roundTrip('127.0.0.1', '127.0.0.1')
    const byHex = new Set(sent.map((b) => b.toString('hex')))
    for (const e of rec.packets) {
      expect(byHex.has(e.raw.toString('hex'))).toBe(true)
      expect(e.packet).toEqual(decodeDatagram(e.raw))
      expect(e.transport).toBe('udp')
      expect(e.remote.address).toBe('127.0.0.1')
      expect(e.remote.family).toBe('IPv4')
      expect(e.local.address).toBe('127.0.0.1')
      expect(e.connectionId).toBeUndefined()
      expect(Math.abs(e.receivedAt - Date.now())).toBeLessThan(10_000)
    }
    const versions = new Set(rec.packets.map((e) => e.packet.version))
    expect([...versions].sort()).toEqual([1, 2, 3])
    expect(rec.malformed).toEqual([])
    const st = server.stats()
    expect(st.transports.udp?.packets).toBe(sent.length)
    expect(st.transports.udp?.bytes).toBe(sent.reduce((n, b) => n + b.length, 0))
  })

  it('receives over IPv6 ([::1])', async () => {
    const { rec, sent } = await roundTrip('::1', '[::1]')
    expect(rec.packets.length).toBe(sent.length)
    expect(rec.packets.every((e) => e.remote.address === '::1' && e.remote.family === 'IPv6')).toBe(true)
    expect(rec.packets.map((e) => e.packet.version).filter((v) => v === 1).length).toBeGreaterThan(0)
  })

  it('sets the receive buffer and reports the effective size', async () => {
    server = new HepServer()
    const udp = await server.listen({ transport: 'udp', address: '127.0.0.1:0', recvBufferSize: 65536 })
    const size = udp.getRecvBufferSize()
    expect(size).toBeGreaterThanOrEqual(65536) // Linux doubles it for bookkeeping
    const tcp = await server.listen({ transport: 'tcp', address: '127.0.0.1:0' })
    expect(tcp.getRecvBufferSize()).toBeUndefined()
  })

  it('reports garbage datagrams and an honest sender alongside loses nothing', async () => {
    const { rec, udp } = await start('127.0.0.1')
    const honest = rawSocket('udp4')
    const hostile = rawSocket('udp4')
    await new Promise<void>((r) => honest.bind(0, '127.0.0.1', r))
    const honestPort = honest.address().port
    const good = loadHexVectors('hep-v3')
    const v3 = good[0]
    const garbage: Buffer[] = [
      Buffer.from('hello, not HEP'),
      Buffer.from([0x48, 0x45, 0x50]), // "HEP", truncated magic
      v3.subarray(0, 40), // truncated packet: length says more
      Buffer.concat([v3, Buffer.from('trailing')]), // length says less
      Buffer.from([0x01, 0x10, 0x02]), // truncated v1 header
      Buffer.from([0x48, 0x45, 0x50, 0x33, 0x00, 0x02]), // length below the header
      Buffer.alloc(0),
      Buffer.from([0x02, 0x10, 0x07, 0x11]), // v2, bad family
    ]
    let g = 0
    for (let i = 0; i < good.length; i++) {
      await sendRaw(honest, good[i], udp)
      await sendRaw(hostile, garbage[g++ % garbage.length], udp)
    }
    await waitFor(() => rec.packets.length + rec.malformed.length === good.length * 2, 'all datagrams')
    expect(rec.fromPort(honestPort).length).toBe(good.length)
    expect(rec.fromPort(honestPort).map((e) => e.raw.toString('hex'))).toEqual(
      good.map((b) => b.toString('hex')),
    )
    expect(rec.malformed.length).toBe(good.length)
    for (const m of rec.malformed) {
      expect(m.error).toBeInstanceOf(DecodeError)
      expect(m.error.code).toMatch(/^HEP_/)
      expect(m.transport).toBe('udp')
      expect(m.remote.port).toBe(hostile.address().port)
    }
    const codes = new Set(rec.malformed.map((m) => m.error.code))
    expect(codes).toContain('HEP_BAD_VERSION')
    expect(codes).toContain('HEP_BAD_LENGTH')
    expect(codes).toContain('HEP_TRUNCATED')
    expect(server.stats().transports.udp?.malformed).toBe(good.length)
  })

  it('rejects packets without the auth key, v1/v2 included', async () => {
    const { rec, udp } = await start('127.0.0.1', { authKey: 's3cret' })
    const s = rawSocket('udp4')
    const ok = hep3('INVITE', { authKey: 's3cret' })
    await sendRaw(s, ok, udp)
    await sendRaw(s, hep3('INVITE', { authKey: 'wrong!' }), udp)
    await sendRaw(s, hep3('INVITE'), udp)
    await sendRaw(s, loadHexVectors('hep-v1')[0], udp)
    await sendRaw(s, loadHexVectors('hep-v2')[0], udp)
    await waitFor(() => rec.packets.length + rec.rejected.length === 5, '5 datagrams')
    expect(rec.packets.map((e) => e.raw)).toEqual([ok])
    expect(rec.rejected.map((r) => [r.reason, r.detail])).toEqual([
      ['auth-key', 'wrong auth key'],
      ['auth-key', 'no auth key (chunk 0x000e)'],
      ['auth-key', 'HEPv1 cannot carry an auth key'],
      ['auth-key', 'HEPv2 cannot carry an auth key'],
    ])
    expect(rec.rejected[0].packet?.authKey).toBe('wrong!')
    expect(server.stats().total.rejectedBy).toEqual({ 'auth-key': 4 })
  })

  it('rejects datagrams over maxPacketLength', async () => {
    const { rec, udp } = await start('127.0.0.1', { maxPacketLength: 1000 })
    const s = rawSocket('udp4')
    await sendRaw(s, hep3('x', {}, 1001), udp)
    await sendRaw(s, hep3('x', {}, 1000), udp)
    await waitFor(() => rec.packets.length + rec.rejected.length === 2, '2 datagrams')
    expect(rec.packets.map((e) => e.raw.length)).toEqual([1000])
    expect(rec.rejected.map((r) => r.reason)).toEqual(['too-long'])
    expect(rec.rejected[0].detail).toBe('1001 bytes, over the limit of 1000')
  })
})

describe('UDP sender', () => {
  it('sends the largest datagram IPv4 carries and fails a larger one with a hint to use tcp://', async () => {
    const { rec, udp } = await start('127.0.0.1')
    const sender = createSender(`127.0.0.1:${udp.local.port}`)
    senders.push(sender)
    const failed: FailedEvent[] = []
    sender.on('failed', (e) => failed.push(e))
    const max = hep3('x', {}, MAX_DATAGRAM[4])
    expect(sender.send(max)).toBe(true)
    expect(sender.send(hep3('x', {}, MAX_DATAGRAM[4] + 1))).toBe(false)
    expect(sender.send(Buffer.alloc(70_000))).toBe(false)
    const st = await sender.close()
    expect(st).toMatchObject({ submitted: 3, sent: 1, failed: 2, dropped: 0, queued: 0, inFlight: 0 })
    expect(failed.map((f) => f.count)).toEqual([1, 1])
    const e = failed[0].error
    expect(e).toBeInstanceOf(HepError)
    expect(e.code).toBe('NET')
    expect(e.message).toBe(
      `cannot send a 65508-byte packet to udp://127.0.0.1:${udp.local.port}: the largest UDP datagram over IPv4 ` +
        `carries 65507 bytes; send large packets over TCP instead (tcp://127.0.0.1:${udp.local.port})`,
    )
    await waitFor(() => rec.packets.length === 1, 'the largest datagram')
    expect(rec.packets[0].raw.equals(max)).toBe(true)
  })

  it('sends to IPv6 destinations, with the IPv6 limit (65527)', async () => {
    const { rec, udp } = await start('::1')
    const sender = createSender(`[::1]:${udp.local.port}`)
    senders.push(sender)
    const errors: Error[] = []
    sender.on('error', (e) => errors.push(e))
    sender.send(hep3('INVITE sip:a@b SIP/2.0'))
    sender.send(hep3('x', {}, 65528))
    const st = await sender.close()
    expect(st).toMatchObject({ submitted: 2, sent: 1, failed: 1 })
    expect(errors[0].message).toContain('over IPv6 carries 65527 bytes')
    expect(errors[0].message).toContain(`tcp://[::1]:${udp.local.port}`)
    await waitFor(() => rec.packets.length === 1, 'one packet')
  })

  it('fails queued packets when the host does not resolve, and says so', async () => {
    const sender = createSender('udp://no-such-host.invalid:9060')
    senders.push(sender)
    const failed: FailedEvent[] = []
    sender.on('failed', (e) => failed.push(e))
    sender.send(hep3('a'))
    sender.send(hep3('b'))
    await expect(sender.connect()).rejects.toThrow(/cannot resolve no-such-host\.invalid/)
    const st = await sender.close({ timeout: 1000 })
    expect(st.sent + st.failed + st.dropped).toBe(st.submitted)
    expect(st.failed).toBe(2)
  })

  it('sends on a socket connected to the destination: ICMP port unreachable fails nothing and reports nothing', async () => {
    // a port nobody listens on: the kernel answers every datagram with ICMP port unreachable, which a
    // connected socket hears as ECONNREFUSED errors; the datagrams left all the same
    const probe = rawSocket('udp4')
    await new Promise<void>((r) => probe.bind(0, '127.0.0.1', () => r()))
    const port = probe.address().port
    await new Promise<void>((r) => probe.close(() => r()))
    sockets = []
    const sender = createSender(`127.0.0.1:${port}`)
    senders.push(sender)
    const errors: Error[] = []
    sender.on('error', (e) => errors.push(e))
    for (let i = 0; i < 300; i++) {
      if (!sender.send(hep3(`x${i}`))) await sender.ready()
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 5))
    }
    const st = await sender.close()
    expect(st).toMatchObject({ submitted: 300, sent: 300, failed: 0, dropped: 0, queued: 0, inFlight: 0 })
    expect(errors).toEqual([])
  })

  it('many datagrams of every size, handed over faster than the window: all arrive, in order, byte for byte', async () => {
    server = new HepServer({})
    const rec = record(server)
    const udp = await server.listen({
      transport: 'udp',
      host: '127.0.0.1',
      port: 0,
      recvBufferSize: 8 * 1024 * 1024,
    })
    const sender = createSender(`127.0.0.1:${udp.local.port}`, { queueLimit: 5000 })
    senders.push(sender)
    const sent = Array.from({ length: 3000 }, (_, i) => hep3(`p${i}`, {}, 200 + ((i * 37) % 1300)))
    // 3000 handed over at once: the sender keeps at most its window in the socket, the rest queued
    for (const b of sent) expect(sender.send(b)).toBe(true)
    expect(sender.stats().inFlight).toBeLessThanOrEqual(256)
    const st = await sender.close()
    expect(st).toMatchObject({ submitted: 3000, sent: 3000, failed: 0, inFlight: 0 })
    expect(st.bytesSent).toBe(sent.reduce((n, b) => n + b.length, 0))
    await waitFor(() => rec.packets.length === sent.length, `${sent.length} packets`)
    expect(rec.packets.every((p, i) => p.raw.equals(sent[i]))).toBe(true)
  })
})
