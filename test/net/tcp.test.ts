/**
 * TCP listener: HEP3 stream framing (many packets per read, one packet over many reads, Kamailio's real
 * segments), IPv4 and IPv6; hostile peers (wrong magic, bad length, one byte per read, idle and silent
 * connections, resets mid-packet, connection floods) are closed with the right reason while an honest
 * sender alongside loses nothing.
 */
import type { Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { DecodeError } from '../../src/errors.js'
import { createSender, HepServer, type HepSender, type ServerOptions } from '../../src/net/index.js'
import { loadHexVectors, loadTcpSegments } from '../helpers/fixtures.js'
import { closedPromise, hep3, record, sleep, tcpConnect, waitFor, write, type TestSocket } from './helpers.js'

let server: HepServer | undefined
let clients: TestSocket[] = []
let senders: HepSender[] = []

async function start(options: ServerOptions = {}, host = '127.0.0.1') {
  server = new HepServer(options)
  const rec = record(server)
  const tcp = await server.listen({ transport: 'tcp', host, port: 0 })
  return { server, rec, port: tcp.local.port, tcp }
}

async function client(port: number, host = '127.0.0.1') {
  const c = await tcpConnect(port, host)
  clients.push(c)
  return c
}

afterEach(async () => {
  for (const c of clients) c.destroy()
  clients = []
  await Promise.all(senders.map((s) => s.close({ timeout: 500 })))
  senders = []
  await server?.close()
  server = undefined
})

const V3 = loadHexVectors('hep-v3')

/** An honest sender on its own connection: `n` packets, one write each, a little apart. */
async function honest(port: number, n: number): Promise<{ localPort: number; sent: Buffer[] }> {
  const c = await client(port)
  const sent: Buffer[] = []
  for (let i = 0; i < n; i++) {
    const b = hep3(`honest ${i}`)
    sent.push(b)
    await write(c, b)
    if (i % 10 === 9) await sleep(1)
  }
  return { localPort: c.port, sent }
}

describe('TCP listener: framing', () => {
  it.each([
    ['IPv4', '127.0.0.1', '127.0.0.1'],
    ['IPv6', '::1', '[::1]'],
  ])('receives every HEP3 fixture in order over %s', async (_name, host, dest) => {
    const { rec, port } = await start({}, host)
    const sent = ['hep-v3', 'hep-v3-ipv6', 'hep-v3-extras', 'hep-v3-sngrep'].flatMap((n) => loadHexVectors(n))
    const sender = createSender(`tcp://${dest}:${port}`)
    senders.push(sender)
    for (const b of sent) if (!sender.send(b)) await sender.ready()
    expect(await sender.flush(5000)).toBe(true)
    await waitFor(() => rec.packets.length === sent.length, `${sent.length} packets`)
    expect(rec.packets.map((e) => e.raw.toString('hex'))).toEqual(sent.map((b) => b.toString('hex')))
    const ids = new Set(rec.packets.map((e) => e.connectionId))
    expect(ids.size).toBe(1)
    expect(rec.packets[0].transport).toBe('tcp')
    expect(rec.packets[0].remote.address).toBe(host)
    expect(rec.connections[0]).toMatchObject({
      type: 'accepted',
      transport: 'tcp',
      connectionId: [...ids][0],
    })
    await sender.close()
    await waitFor(() => rec.closed().length === 1, 'the close event')
    expect(rec.closed()[0]).toMatchObject({ reason: 'peer', packets: sent.length, malformed: 0 })
  })

  it("frames Kamailio's real TCP segments (39 packets in 38 segments)", async () => {
    const { rec, port } = await start()
    const c = await client(port)
    const segments = loadTcpSegments()
    for (const s of segments) {
      await write(c, s)
      await sleep(1)
    }
    await waitFor(() => rec.packets.length === 39, '39 packets')
    expect(Buffer.concat(rec.packets.map((e) => e.raw)).equals(Buffer.concat(segments))).toBe(true)
    expect(rec.malformed).toEqual([])
  })

  it('takes many packets in one write and one packet over several writes', async () => {
    const { rec, port } = await start()
    const c = await client(port)
    await write(c, Buffer.concat(V3))
    const p = hep3('split packet')
    await write(c, p.subarray(0, 3))
    await sleep(5)
    await write(c, p.subarray(3, 20))
    await sleep(5)
    await write(c, p.subarray(20))
    await waitFor(() => rec.packets.length === V3.length + 1, 'all packets')
    expect(rec.packets.at(-1)!.raw.equals(p)).toBe(true)
  })

  it('applies the auth key per packet and keeps the connection', async () => {
    const { rec, port } = await start({ authKey: 'k' })
    const c = await client(port)
    await write(c, Buffer.concat([hep3('a', { authKey: 'k' }), hep3('b'), hep3('c', { authKey: 'k' })]))
    await waitFor(() => rec.packets.length === 2 && rec.rejected.length === 1, '2 packets and 1 rejection')
    expect(rec.rejected[0]).toMatchObject({ reason: 'auth-key', transport: 'tcp' })
    expect(rec.closed()).toEqual([])
  })
})

describe('TCP listener: hostile peers', () => {
  it('closes a connection with a wrong magic (protocol-error); good packets before it and other peers are served', async () => {
    const { rec, port } = await start()
    const bad = await client(port)
    const before = hep3('before the garbage')
    const honestRun = honest(port, 50)
    await write(bad, Buffer.concat([before, Buffer.from('GET / HTTP/1.1\r\nHost: x\r\n\r\n')]))
    await closedPromise(bad)
    const { localPort, sent } = await honestRun
    await waitFor(() => rec.fromPort(localPort).length === 50, 'the honest packets')
    expect(rec.fromPort(localPort).map((e) => e.raw)).toEqual(sent)
    expect(rec.fromPort(bad.port).map((e) => e.raw)).toEqual([before])
    const closed = rec.closedBy('protocol-error')
    expect(closed).toHaveLength(1)
    expect(closed[0].remote.port).toBe(bad.port)
    expect(closed[0].detail).toMatch(/^magic at byte \d+: expected "HEP3" \(48455033\), got 47455420/)
    expect(closed[0].packets).toBe(1)
    expect(rec.malformed).toHaveLength(1)
    expect(rec.malformed[0].error.code).toBe('HEP_BAD_MAGIC')
    expect((rec.malformed[0].error as DecodeError).offset).toBe(before.length)
    expect(rec.malformed[0].raw.subarray(0, 4).toString()).toBe('GET ')
    expect(server!.connections().map((c) => c.remote.port)).toEqual([localPort])
  })

  it.each([
    ['a length below the header', Buffer.from([0x48, 0x45, 0x50, 0x33, 0x00, 0x05]), 'HEP_BAD_LENGTH'],
    ['a packet over maxPacketLength', hep3('x', {}, 2000), 'HEP_TOO_LONG'],
  ])('closes a connection that sends %s', async (_n, bytes, code) => {
    const { rec, port } = await start({ maxPacketLength: 1500 })
    const c = await client(port)
    await write(c, bytes)
    await closedPromise(c)
    await waitFor(() => rec.closed().length === 1, 'the close event')
    expect(rec.closed()[0].reason).toBe('protocol-error')
    expect(rec.malformed.map((m) => m.error.code)).toEqual([code])
  })

  it('drops a peer whose packet takes more than maxReadsPerPacket reads (one byte per read)', async () => {
    const { rec, port } = await start({ maxReadsPerPacket: 8 })
    const { localPort } = await honest(port, 5)
    // a packet in 4 writes is fine
    const ok = await client(port)
    const p = hep3('in four pieces')
    for (let i = 0; i < 4; i++) {
      await write(ok, p.subarray((i * p.length) >> 2, ((i + 1) * p.length) >> 2))
      await sleep(3)
    }
    await waitFor(() => rec.fromPort(ok.port).length === 1, 'the 4-piece packet')
    // one byte per read: dropped after the 9th read
    const slow = await client(port)
    const q = hep3('one byte at a time')
    let written = 0
    for (; written < q.length && !slow.destroyed && slow.errors.length === 0; written++) {
      slow.write(q.subarray(written, written + 1))
      await new Promise((r) => setImmediate(r))
      await sleep(2)
      if (rec.closedBy('max-reads-per-packet').length > 0) break
    }
    await waitFor(() => rec.closedBy('max-reads-per-packet').length === 1, 'the drop')
    const closed = rec.closedBy('max-reads-per-packet')[0]
    expect(closed.remote.port).toBe(slow.port)
    expect(closed.detail).toMatch(/^a packet took more than 8 reads \(9 reads, \d+ bytes so far\)$/)
    expect(written).toBeLessThan(q.length)
    await closedPromise(slow)
    // the others were served and are still open
    const more = await honest(port, 5)
    await waitFor(() => rec.fromPort(more.localPort).length === 5, 'more honest packets')
    expect(rec.fromPort(localPort)).toHaveLength(5)
    expect(rec.closed().map((c) => c.reason)).toEqual(['max-reads-per-packet'])
  })

  it('drops a slow peer at the default of 32 reads', async () => {
    const { rec, port } = await start()
    const slow = await client(port)
    const q = hep3('x'.repeat(100))
    for (let i = 0; i < q.length && rec.closed().length === 0 && !slow.destroyed; i++) {
      slow.write(q.subarray(i, i + 1))
      await sleep(2)
    }
    await waitFor(() => rec.closed().length === 1, 'the drop')
    expect(rec.closed()[0].reason).toBe('max-reads-per-packet')
    expect(rec.closed()[0].detail).toMatch(/more than 32 reads \(33 reads/)
  })

  it('holds 1,000 idle connections and still serves an honest sender', async () => {
    const { rec, port } = await start()
    const idle: Socket[] = []
    const N = 1000
    const CONCURRENCY = 50
    for (let i = 0; i < N; i += CONCURRENCY) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(CONCURRENCY, N - i) }, () => client(port)),
      )
      idle.push(...batch)
    }
    await waitFor(() => server!.stats().total.connections.open === N, `${N} open connections`)
    const sender = createSender(`tcp://127.0.0.1:${port}`)
    senders.push(sender)
    for (let i = 0; i < 200; i++) sender.send(hep3(`call ${i}`))
    expect(await sender.flush(5000)).toBe(true)
    await waitFor(() => rec.packets.length === 200, '200 packets')
    expect(server!.stats().total.connections).toMatchObject({ open: N + 1, accepted: N + 1 })
    expect(rec.closed()).toEqual([])
  })

  it('at maxConnections evicts the connection that has delivered nothing the longest; the honest sender keeps its connection', async () => {
    const { rec, port } = await start({ maxConnections: 20 })
    const sender = createSender(`tcp://127.0.0.1:${port}`)
    senders.push(sender)
    sender.send(hep3('first'))
    expect(await sender.flush(5000)).toBe(true)
    await waitFor(() => rec.packets.length === 1, 'the first packet')
    const flood: TestSocket[] = []
    for (let i = 0; i < 40; i += 10)
      flood.push(...(await Promise.all(Array.from({ length: 10 }, () => client(port)))))
    await waitFor(() => rec.closedBy('evicted').length === 21, '21 evicted connections')
    for (let i = 0; i < 50; i++) sender.send(hep3(`call ${i}`))
    expect(await sender.flush(5000)).toBe(true)
    await waitFor(() => rec.packets.length === 51, '51 packets')
    const st = server!.stats().transports.tcp!.connections
    expect(st).toEqual({ open: 20, accepted: 41, closed: { evicted: 21 } })
    expect(rec.closedBy('evicted')[0].detail).toMatch(
      /^the listener had 20 connections; this one had the oldest: no packet since it connected [\d.]+ s ago$/,
    )
    expect(sender.stats().disconnects).toBe(0)
    // the evicted are the oldest of the flood, and see their connection closed
    const oldest = flood.slice(0, 20).map((c) => c.port)
    const evicted = rec.closedBy('evicted').map((c) => c.remote.port)
    expect(evicted.slice(0, 20).sort()).toEqual(oldest.sort())
    await Promise.all(flood.slice(0, 21).map((c) => closedPromise(c)))
  })

  it('closes connections that never send (idle-timeout); a sender that keeps talking stays', async () => {
    const { rec, port } = await start({ idleTimeout: 0.5 })
    const silent = await Promise.all(Array.from({ length: 5 }, () => client(port)))
    const talker = await client(port)
    const t0 = Date.now()
    for (let i = 0; i < 10; i++) {
      await write(talker, hep3(`keepalive ${i}`))
      await sleep(100)
    }
    await waitFor(() => rec.closedBy('idle-timeout').length === 5, '5 idle closes')
    const elapsed = Date.now() - t0
    expect(elapsed).toBeGreaterThanOrEqual(500)
    expect(
      rec
        .closedBy('idle-timeout')
        .map((c) => c.remote.port)
        .sort(),
    ).toEqual(silent.map((s) => s.port).sort())
    expect(rec.closedBy('idle-timeout')[0].detail).toBe('no data for 0.5 s')
    expect(talker.destroyed).toBe(false)
    expect(rec.fromPort(talker.port)).toHaveLength(10)
    await Promise.all(silent.map((s) => closedPromise(s)))
  })

  it('closes a connection older than maxLifetime, however busy', async () => {
    const { rec, port } = await start({ maxLifetime: 0.25 })
    const c = await client(port)
    for (let i = 0; i < 100 && rec.closed().length === 0; i++) {
      c.write(hep3(`busy ${i}`))
      await sleep(10)
    }
    await waitFor(() => rec.closed().length === 1, 'the lifetime close')
    expect(rec.closed()[0]).toMatchObject({ reason: 'lifetime', detail: 'open for more than 0.25 s' })
    expect(rec.closed()[0].durationMs).toBeGreaterThanOrEqual(240)
  })

  it('reports a reset mid-packet (reason reset, the partial packet as truncated)', async () => {
    const { rec, port } = await start()
    const { localPort } = await honest(port, 10)
    const c = await client(port)
    const p = hep3('reset me')
    await write(c, p.subarray(0, 30))
    await sleep(20)
    c.resetAndDestroy()
    await waitFor(() => rec.closed().length === 1, 'the close event')
    expect(rec.closed()[0].reason).toBe('reset')
    expect(rec.malformed).toHaveLength(1)
    expect(rec.malformed[0].error.code).toBe('HEP_TRUNCATED')
    expect(rec.malformed[0].error.message).toBe(
      `packet at byte 0: the connection ended after 30 bytes of a packet, ${p.length - 30} more were expected`,
    )
    expect(rec.malformed[0].raw.equals(p.subarray(0, 30))).toBe(true)
    expect(rec.fromPort(localPort)).toHaveLength(10)
  })

  it('reports a peer that closes mid-packet (reason peer, truncated packet)', async () => {
    const { rec, port } = await start()
    const c = await client(port)
    const p = hep3('cut short')
    await write(c, Buffer.concat([hep3('whole'), p.subarray(0, 4)]))
    await sleep(5)
    await write(c, p.subarray(4, 12))
    c.end()
    await waitFor(() => rec.closed().length === 1, 'the close event')
    expect(rec.closed()[0]).toMatchObject({ reason: 'peer', packets: 1, malformed: 1 })
    expect(rec.malformed[0].raw.equals(p.subarray(0, 12))).toBe(true)
  })

  it("close() closes every connection with reason 'shutdown' and resolves", async () => {
    const { rec, port } = await start({ keepalive: 30 })
    const cs = await Promise.all(Array.from({ length: 5 }, () => client(port)))
    await waitFor(() => server!.stats().total.connections.open === 5, '5 connections')
    await server!.close()
    expect(rec.closedBy('shutdown')).toHaveLength(5)
    expect(server!.stats().total.connections).toMatchObject({ open: 0, accepted: 5, closed: { shutdown: 5 } })
    await Promise.all(cs.map((c) => closedPromise(c)))
    await expect(server!.listen({ transport: 'tcp', port: 0 })).rejects.toThrow(/closed/)
  })
})
