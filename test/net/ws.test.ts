/**
 * WebSocket: each binary message is one HEP packet (v1, v2, v3); a plain `ws` client works; text
 * messages are malformed; fragmented messages arrive whole; ping/pong keepalive; the close handshake on
 * both sides; resets, oversize messages, connection limits; wss with a certificate from openssl.
 */
import { get } from 'node:http'
import type { Socket } from 'node:net'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { createSender, HepServer, type HepSender, type ServerOptions } from '../../src/net/index.js'
import { loadHexVectors } from '../helpers/fixtures.js'
import { hep3, makeCert, record, sleep, waitFor, type TestCert } from './helpers.js'

let server: HepServer | undefined
let senders: HepSender[] = []
let clients: WebSocket[] = []
let cert: TestCert

beforeAll(() => {
  cert = makeCert()
})
afterAll(() => cert?.cleanup())
afterEach(async () => {
  for (const c of clients) c.terminate()
  clients = []
  await Promise.all(senders.map((s) => s.close({ timeout: 500 })))
  senders = []
  await server?.close()
  server = undefined
})

async function start(options: ServerOptions = {}, host = '127.0.0.1') {
  server = new HepServer({ closeTimeout: 500, ...options })
  const rec = record(server)
  const l = await server.listen({ transport: 'ws', host, port: 0 })
  return { rec, port: l.local.port }
}

/** A plain `ws` client, open. */
async function wsClient(
  url: string,
  options: ConstructorParameters<typeof WebSocket>[2] = {},
): Promise<WebSocket> {
  const ws = new WebSocket(url, options)
  clients.push(ws)
  ws.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve())
    ws.once('error', reject)
  })
  return ws
}

function closeOf(ws: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) =>
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
  )
}

const ALL = ['hep-v1', 'hep-v2', 'hep-v3', 'hep-v3-ipv6'].flatMap((n) => loadHexVectors(n))

describe('WebSocket listener', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
  ])('receives HEP v1, v2 and v3 messages on %s from createSender', async (host, destHost) => {
    const { rec, port } = await start({}, host)
    const s = createSender(`ws://${destHost}:${port}/hep`)
    senders.push(s)
    for (const b of ALL) if (!s.send(b)) await s.ready()
    expect(await s.flush(5000)).toBe(true)
    await waitFor(() => rec.packets.length === ALL.length, 'all packets')
    expect(rec.packets.map((e) => e.raw.toString('hex'))).toEqual(ALL.map((b) => b.toString('hex')))
    expect(new Set(rec.packets.map((e) => e.packet.version))).toEqual(new Set([1, 2, 3]))
    expect(rec.packets[0]).toMatchObject({ transport: 'ws', remote: { address: host } })
    await s.close()
    await waitFor(() => rec.closed().length === 1, 'the close')
    expect(rec.closed()[0]).toMatchObject({
      reason: 'peer',
      detail: 'close code 1000 done',
      packets: ALL.length,
    })
  })

  it('serves a plain ws client: binary packets, a text message (malformed), a fragmented message', async () => {
    const { rec, port } = await start()
    const ws = await wsClient(`ws://127.0.0.1:${port}`)
    const p = hep3('fragmented INVITE')
    ws.send(ALL[0])
    ws.send('{"not":"hep"}')
    ws.send(p.subarray(0, 10), { binary: true, fin: false })
    ws.send(p.subarray(10, 30), { binary: true, fin: false })
    ws.send(p.subarray(30), { binary: true, fin: true })
    ws.send(Buffer.from('binary garbage'))
    ws.send(ALL[1])
    await waitFor(() => rec.packets.length === 3 && rec.malformed.length === 2, '3 packets, 2 malformed')
    expect(rec.packets.map((e) => e.raw)).toEqual([ALL[0], p, ALL[1]])
    expect(rec.malformed[0].error.code).toBe('INPUT_FORMAT')
    expect(rec.malformed[0].error.message).toBe(
      'WebSocket text message of 13 bytes: HEP travels in binary messages',
    )
    expect(rec.malformed[0].raw.toString()).toBe('{"not":"hep"}')
    expect(rec.malformed[1].error.code).toBe('HEP_BAD_VERSION')
    expect(ws.readyState).toBe(WebSocket.OPEN)
    expect(server!.stats().transports.ws).toMatchObject({ packets: 3, malformed: 2 })
  })

  it('runs the close handshake: peer close, and shutdown (1001)', async () => {
    const { rec, port } = await start()
    const a = await wsClient(`ws://127.0.0.1:${port}`)
    const b = await wsClient(`ws://127.0.0.1:${port}`)
    const aClosed = closeOf(a)
    a.close(1000, 'bye')
    expect(await aClosed).toEqual({ code: 1000, reason: 'bye' })
    await waitFor(() => rec.closed().length === 1, 'the first close')
    expect(rec.closed()[0]).toMatchObject({ reason: 'peer', detail: 'close code 1000 bye' })
    const bClosed = closeOf(b)
    await server!.close()
    expect(await bClosed).toEqual({ code: 1001, reason: 'shutdown' })
    expect(rec.closed()[1]).toMatchObject({ reason: 'shutdown' })
  })

  it('pings: a peer that answers stays, one that does not is closed (ping-timeout)', async () => {
    const { rec, port } = await start({ wsPingInterval: 0.2 })
    const good = await wsClient(`ws://127.0.0.1:${port}`)
    let pings = 0
    good.on('ping', () => pings++)
    const mute = await wsClient(`ws://127.0.0.1:${port}`, { autoPong: false })
    await waitFor(() => rec.closed().length === 1, 'the ping timeout', 3000)
    expect(rec.closed()[0]).toMatchObject({ reason: 'ping-timeout', detail: 'no pong within 0.2 s' })
    await sleep(450)
    expect(pings).toBeGreaterThanOrEqual(3)
    expect(good.readyState).toBe(WebSocket.OPEN)
    expect(mute.readyState).not.toBe(WebSocket.OPEN)
    good.send(ALL[0])
    await waitFor(() => rec.packets.length === 1, 'a packet from the good peer')
  })

  it('reports a reset (reason reset) and a close without handshake (peer)', async () => {
    const { rec, port } = await start()
    const a = await wsClient(`ws://127.0.0.1:${port}`)
    const b = await wsClient(`ws://127.0.0.1:${port}`)
    ;(a as unknown as { _socket: Socket })._socket.resetAndDestroy()
    await waitFor(() => rec.closed().length === 1, 'the reset')
    expect(rec.closed()[0].reason).toBe('reset')
    ;(b as unknown as { _socket: Socket })._socket.end()
    await waitFor(() => rec.closed().length === 2, 'the FIN')
    expect(rec.closed()[1]).toMatchObject({
      reason: 'peer',
      detail: 'closed without a close handshake (1006)',
    })
  })

  it('closes a peer that sends a message larger than any HEP packet (protocol-error, 1009)', async () => {
    const { rec, port } = await start()
    const ws = await wsClient(`ws://127.0.0.1:${port}`)
    const closed = closeOf(ws)
    ws.send(Buffer.alloc(70_000))
    expect((await closed).code).toBe(1009)
    await waitFor(() => rec.closed().length === 1, 'the close')
    expect(rec.closed()[0].reason).toBe('protocol-error')
  })

  it('at maxConnections evicts the oldest silent connection with 1013, and closes idle ones', async () => {
    const { rec, port } = await start({ maxConnections: 2, idleTimeout: 0.3 })
    const a = await wsClient(`ws://127.0.0.1:${port}`)
    const b = await wsClient(`ws://127.0.0.1:${port}`)
    const aClosed = closeOf(a)
    await wsClient(`ws://127.0.0.1:${port}`)
    expect(await aClosed).toEqual({ code: 1013, reason: 'evicted' })
    await waitFor(() => rec.closedBy('evicted').length === 1, 'the eviction')
    expect(await closeOf(b)).toEqual({ code: 1000, reason: 'idle-timeout' })
    await waitFor(() => rec.closedBy('idle-timeout').length === 2, 'idle closes')
  })

  it('answers plain HTTP with 426 Upgrade Required', async () => {
    const { port } = await start()
    const res = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      get(`http://127.0.0.1:${port}/`, (r) => {
        let body = ''
        r.on('data', (d: Buffer) => (body += d.toString()))
        r.on('end', () => resolve({ status: r.statusCode ?? 0, body }))
      }).on('error', reject)
    })
    expect(res.status).toBe(426)
    expect(res.body).toContain('binary message')
  })

  it('serves wss:// with a certificate; the sender verifies it with ca', async () => {
    server = new HepServer()
    const rec = record(server)
    const l = await server.listen({
      transport: 'wss',
      address: '127.0.0.1:0',
      tls: { cert: cert.cert, key: cert.key },
    })
    const s = createSender(`wss://localhost:${l.local.port}/`, { ca: cert.cert })
    senders.push(s)
    for (const b of ALL) s.send(b)
    expect(await s.flush(5000)).toBe(true)
    await waitFor(() => rec.packets.length === ALL.length, 'all packets')
    expect(rec.packets[0].transport).toBe('wss')
  })
})
