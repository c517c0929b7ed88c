/**
 * TLS: HEP3 over TLS with a self-signed certificate made by openssl for this run (IPv4 and IPv6);
 * certificate checks on the sender side; peers that do not speak TLS or send bad framing are closed with
 * the right reason while an honest sender is served.
 */
import { connect as tlsConnect } from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import {
  createSender,
  HepServer,
  type DisconnectEvent,
  type HepSender,
  type ServerOptions,
} from '../../src/net/index.js'
import { loadHexVectors } from '../helpers/fixtures.js'
import {
  closedPromise,
  hep3,
  makeCert,
  record,
  sleep,
  tcpConnect,
  waitFor,
  write,
  type TestCert,
} from './helpers.js'

let cert: TestCert
let server: HepServer | undefined
let senders: HepSender[] = []

beforeAll(() => {
  cert = makeCert()
})
afterAll(() => cert?.cleanup())
afterEach(async () => {
  await Promise.all(senders.map((s) => s.close({ timeout: 500 })))
  senders = []
  await server?.close()
  server = undefined
})

async function start(options: ServerOptions = {}, host = '127.0.0.1') {
  server = new HepServer(options)
  const rec = record(server)
  const l = await server.listen({ transport: 'tls', host, port: 0, tls: { cert: cert.cert, key: cert.key } })
  return { rec, port: l.local.port }
}

function sender(url: string, options: Parameters<typeof createSender>[1] = {}): HepSender {
  const s = createSender(url, { connectTimeout: 2000, ...options })
  senders.push(s)
  return s
}

const V3 = loadHexVectors('hep-v3')

describe('TLS listener', () => {
  it.each([
    ['127.0.0.1', '127.0.0.1'],
    ['::1', '[::1]'],
    ['127.0.0.1', 'localhost'],
  ])('receives HEP3 on %s from a sender that verifies the certificate (%s)', async (host, destHost) => {
    const { rec, port } = await start({}, host)
    const s = sender(`tls://${destHost}:${port}`, { ca: cert.cert })
    for (const b of V3) s.send(b)
    expect(await s.flush(5000)).toBe(true)
    await waitFor(() => rec.packets.length === V3.length, 'all packets')
    expect(rec.packets.map((e) => e.raw.toString('hex'))).toEqual(V3.map((b) => b.toString('hex')))
    expect(rec.packets[0].transport).toBe('tls')
    expect(rec.connections[0]).toMatchObject({ type: 'accepted', transport: 'tls' })
    const st = await s.close()
    expect(st).toMatchObject({ submitted: V3.length, sent: V3.length, failed: 0, connects: 1 })
    await waitFor(() => rec.closed().length === 1, 'the close')
    expect(rec.closed()[0].reason).toBe('peer')
  })

  it('takes PEM text as well as file paths', async () => {
    const { readFileSync } = await import('node:fs')
    server = new HepServer()
    const rec = record(server)
    const l = await server.listen({
      transport: 'tls',
      address: '127.0.0.1:0',
      tls: { cert: readFileSync(cert.cert), key: readFileSync(cert.key, 'utf8') },
    })
    const s = sender(`tls://127.0.0.1:${l.local.port}`, { ca: readFileSync(cert.cert, 'utf8') })
    s.send(V3[0])
    await waitFor(() => rec.packets.length === 1, 'one packet')
  })

  it('says what to do when the certificate is not trusted, and connects with rejectUnauthorized: false', async () => {
    const { rec, port } = await start()
    const strict = sender(`tls://127.0.0.1:${port}`, { reconnect: false })
    const disconnects: DisconnectEvent[] = []
    strict.on('disconnect', (e) => disconnects.push(e))
    strict.send(V3[0])
    const err = await strict.connect().then(
      () => undefined,
      (e: Error) => e,
    )
    expect(err?.message).toMatch(
      /^cannot connect to tls:\/\/127\.0\.0\.1:\d+: TLS certificate not accepted: /,
    )
    expect(err?.message).toContain('self-signed')
    expect(err?.message).toContain('rejectUnauthorized: false')
    const st = await strict.close()
    expect(st).toMatchObject({ submitted: 1, sent: 0, failed: 1 })
    expect(disconnects[0].wasConnected).toBe(false)

    const lax = sender(`tls://127.0.0.1:${port}`, { rejectUnauthorized: false })
    lax.send(V3[1])
    expect(await lax.flush(3000)).toBe(true)
    await waitFor(() => rec.packets.length === 1, 'one packet')
    expect(rec.packets[0].raw.equals(V3[1])).toBe(true)
  })

  it("closes a peer that does not speak TLS ('tls-handshake'); the honest TLS sender is served", async () => {
    const { rec, port } = await start()
    const honest = sender(`tls://127.0.0.1:${port}`, { ca: cert.cert })
    await honest.connect()
    const plain = await tcpConnect(port)
    for (const b of V3.slice(0, 5)) honest.send(b)
    await write(plain, V3[0]) // HEP where a ClientHello belongs
    await closedPromise(plain)
    for (const b of V3.slice(5)) honest.send(b)
    expect(await honest.flush(3000)).toBe(true)
    await waitFor(
      () => rec.packets.length === V3.length && rec.closed().length === 1,
      'packets and the close',
    )
    expect(rec.closed()[0].reason).toBe('tls-handshake')
    expect(rec.closed()[0].detail).toMatch(
      /^TLS handshake failed: [a-z ]+ \(ERR_SSL_\w+\); is the peer speaking TLS\?$/,
    )
    expect(rec.closed()[0].remote.port).toBe(plain.port)
  })

  it("closes a TLS peer that sends bad framing ('protocol-error')", async () => {
    const { rec, port } = await start()
    const c = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
    c.on('error', () => {})
    await new Promise<void>((r) => c.once('secureConnect', () => r()))
    c.write(Buffer.concat([V3[0], Buffer.from('NOT HEP AT ALL')]))
    await new Promise<void>((r) => c.once('close', () => r()))
    await waitFor(() => rec.closed().length === 1, 'the close')
    expect(rec.closed()[0]).toMatchObject({ reason: 'protocol-error', packets: 1, malformed: 1 })
    expect(rec.malformed[0].error.code).toBe('HEP_BAD_MAGIC')
  })

  it('closes a connection that never starts the handshake (idle-timeout)', async () => {
    const { rec, port } = await start({ idleTimeout: 0.2 })
    const silent = await tcpConnect(port)
    await closedPromise(silent)
    await waitFor(() => rec.closed().length === 1, 'the close')
    expect(rec.closed()[0].reason).toBe('idle-timeout')
  })

  it('drops a TLS peer whose packet takes too many reads', async () => {
    const { rec, port } = await start({ maxReadsPerPacket: 4 })
    const c = tlsConnect({ host: '127.0.0.1', port, rejectUnauthorized: false })
    c.on('error', () => {})
    await new Promise<void>((r) => c.once('secureConnect', () => r()))
    c.setNoDelay(true)
    const p = hep3('slow over TLS')
    for (let i = 0; i < 20 && rec.closed().length === 0 && !c.destroyed; i++) {
      c.write(p.subarray(i, i + 1)) // each write is one TLS record, one read
      await sleep(3)
    }
    await waitFor(() => rec.closed().length === 1, 'the drop')
    expect(rec.closed()[0].reason).toBe('max-reads-per-packet')
    c.destroy()
  })

  it('refuses to start without a readable certificate', async () => {
    server = new HepServer()
    await expect(
      server.listen({ transport: 'tls', port: 0, tls: { cert: '/nonexistent/cert.pem', key: cert.key } }),
    ).rejects.toThrow('cannot read the TLS certificate file "/nonexistent/cert.pem": no such file (ENOENT)')
    await expect(server.listen({ transport: 'tls', port: 0 })).rejects.toThrow(
      /needs a certificate and a key/,
    )
  })
})
