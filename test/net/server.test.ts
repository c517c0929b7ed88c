/**
 * One HepServer, several listeners at once: every transport delivers through the same events, statistics
 * are kept per transport and in total, and listen errors are clear.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { HepError } from '../../src/errors.js'
import {
  createSender,
  createServer,
  HepServer,
  NetError,
  type ListeningEvent,
  type ListenTransport,
} from '../../src/net/index.js'
import { loadHexVectors } from '../helpers/fixtures.js'
import { makeCert, record, waitFor, type TestCert } from './helpers.js'

let cert: TestCert
let server: HepServer | undefined

beforeAll(() => {
  cert = makeCert()
})
afterAll(() => cert?.cleanup())
afterEach(async () => {
  await server?.close()
  server = undefined
})

const V3 = loadHexVectors('hep-v3').slice(0, 10)

describe('HepServer', () => {
  it('runs UDP, TCP, TLS, WS and WSS listeners at once behind one event interface', async () => {
    const tls = { cert: cert.cert, key: cert.key }
    const listening: ListeningEvent[] = []
    server = await createServer([
      { transport: 'udp', address: '127.0.0.1:0' },
      { transport: 'udp', address: '[::1]:0' },
      { transport: 'tcp', address: '127.0.0.1:0' },
      { transport: 'tls', address: '127.0.0.1:0', tls },
      { transport: 'ws', address: '127.0.0.1:0' },
      { transport: 'wss', address: '127.0.0.1:0', tls },
    ])
    server.on('listening', (e) => listening.push(e))
    const extra = await server.listen({ transport: 'tcp', address: '[::1]:0' })
    expect(listening).toEqual([{ listenerId: extra.id, transport: 'tcp', local: extra.local }])
    const rec = record(server)
    const listeners = server.getListeners()
    expect(listeners.map((l) => l.transport)).toEqual(['udp', 'udp', 'tcp', 'tls', 'ws', 'wss', 'tcp'])
    expect(listeners.map((l) => l.id)).toEqual([1, 2, 3, 4, 5, 6, 7])
    const url = (t: ListenTransport, host: string, port: number) => `${t}://${host}:${port}`
    const senders = listeners.map((l) =>
      createSender(url(l.transport, l.local.family === 'IPv6' ? '[::1]' : '127.0.0.1', l.local.port), {
        ca: cert.cert,
      }),
    )
    for (const s of senders) for (const b of V3) s.send(b)
    const stats = await Promise.all(senders.map((s) => s.close()))
    expect(stats.every((s) => s.sent === V3.length)).toBe(true)
    await waitFor(() => rec.packets.length === V3.length * listeners.length, 'every packet')
    for (const l of listeners) {
      expect(rec.packets.filter((e) => e.listenerId === l.id)).toHaveLength(V3.length)
    }
    await waitFor(() => rec.closed().length === 5, 'the stream connections to close')
    const st = server.stats()
    expect(st.total.packets).toBe(V3.length * 7)
    expect(st.transports.udp?.packets).toBe(V3.length * 2)
    expect(st.transports.tcp?.packets).toBe(V3.length * 2)
    expect(st.transports.tcp?.connections).toEqual({ open: 0, accepted: 2, closed: { peer: 2 } })
    expect(st.total.connections).toEqual({ open: 0, accepted: 5, closed: { peer: 5 } })
    const bytes = V3.reduce((n, b) => n + b.length, 0)
    expect(st.transports.tls?.bytes).toBe(bytes)
    expect(st.total.bytes).toBe(bytes * 7)
    expect(server.connections()).toEqual([])
  })

  it('lists open connections with their counters', async () => {
    server = new HepServer()
    const l = await server.listen({ transport: 'tcp', address: '127.0.0.1:0' })
    const s = createSender(`tcp://127.0.0.1:${l.local.port}`)
    for (const b of V3) s.send(b)
    await s.flush(3000)
    await waitFor(() => server!.connections()[0]?.packets === V3.length, 'the packets')
    expect(server.connections()[0]).toMatchObject({ transport: 'tcp', listenerId: l.id, malformed: 0 })
    await s.close()
  })

  it('reports a port in use clearly', async () => {
    server = new HepServer()
    const l = await server.listen({ transport: 'tcp', address: '127.0.0.1:0' })
    const err = await server
      .listen({ transport: 'tcp', address: `127.0.0.1:${l.local.port}` })
      .catch((e) => e)
    expect(err).toBeInstanceOf(NetError)
    expect(err.code).toBe('NET')
    expect(err.reason).toBe('EADDRINUSE')
    expect(err.message).toBe(
      `cannot listen on tcp 127.0.0.1:${l.local.port}: address already in use (EADDRINUSE)`,
    )
    const u = await server.listen({ transport: 'udp', address: '127.0.0.1:0' })
    await expect(server.listen({ transport: 'udp', address: `127.0.0.1:${u.local.port}` })).rejects.toThrow(
      /address already in use/,
    )
  })

  it('rejects bad options', async () => {
    server = new HepServer()
    await expect(server.listen({ transport: 'sctp' as 'udp', port: 0 })).rejects.toThrow(
      /unknown transport "sctp"/,
    )
    await expect(server.listen({ transport: 'tcp', address: 'nope:port' })).rejects.toThrow(HepError)
    expect(() => new HepServer({ idleTimeout: -1 })).toThrow(/idleTimeout must be a number >= 0/)
  })
})
