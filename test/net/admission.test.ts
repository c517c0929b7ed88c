/**
 * Fair admission (issue #10, finding 8): at maxConnections the connection that has gone longest without
 * a packet is evicted for the new one (silent ones first); the TLS or WebSocket handshake and the first
 * packet must come within handshakeTimeout; when file descriptors run out, one is reported, an older
 * connection is evicted, and with none to evict accepting pauses. Short timeouts keep it fast.
 */
import { spawnSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { connect as netConnect, type Socket } from 'node:net'
import { connect as tlsConnect, type TLSSocket } from 'node:tls'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { HepServer, type ServerOptions } from '../../src/net/index.js'
import { DescriptorBudget, FD_RESERVE, readFdLimit } from '../../src/net/fds.js'
import { ACCEPT_PAUSE_MS } from '../../src/net/admission.js'
import type { ListenTransport } from '../../src/net/types.js'
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
  type TestSocket,
} from './helpers.js'

let cert: TestCert
let server: HepServer | undefined
let sockets: Socket[] = []
let wss: WebSocket[] = []
const realLimit = readFdLimit()

beforeAll(() => {
  cert = makeCert()
})
afterAll(() => cert?.cleanup())
afterEach(async () => {
  for (const s of sockets) s.destroy()
  sockets = []
  for (const w of wss) w.terminate()
  wss = []
  await server?.close()
  server = undefined
})

async function start(options: ServerOptions = {}, transport: ListenTransport = 'tcp') {
  server = new HepServer({ closeTimeout: 300, ...options })
  const rec = record(server)
  const tls = transport === 'tls' || transport === 'wss' ? { cert: cert.cert, key: cert.key } : undefined
  const l = await server.listen({ transport, host: '127.0.0.1', port: 0, tls })
  return { rec, port: l.local.port, listener: l }
}

async function tcp(port: number): Promise<TestSocket> {
  const s = await tcpConnect(port)
  sockets.push(s)
  return s
}

async function tls(port: number): Promise<TLSSocket> {
  const s = tlsConnect({ port, host: '127.0.0.1', ca: readFileSync(cert.cert), servername: 'localhost' })
  sockets.push(s)
  s.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    s.once('secureConnect', () => resolve())
    s.once('error', reject)
  })
  return s
}

async function ws(port: number): Promise<WebSocket> {
  const w = new WebSocket(`ws://127.0.0.1:${port}`)
  wss.push(w)
  w.on('error', () => {})
  await new Promise<void>((resolve, reject) => {
    w.once('open', () => resolve())
    w.once('error', reject)
  })
  return w
}

function closeOf(w: WebSocket): Promise<{ code: number; reason: string }> {
  return new Promise((resolve) => w.once('close', (code, r) => resolve({ code, reason: r.toString() })))
}

describe('eviction at maxConnections', () => {
  it('admits a new connection by evicting the oldest that never delivered a packet', async () => {
    const { rec, port } = await start({ maxConnections: 5 })
    const idle: TestSocket[] = []
    for (let i = 0; i < 5; i++) {
      idle.push(await tcp(port))
      await waitFor(() => rec.connections.length === i + 1, 'accepted')
    }
    const honest = await tcp(port)
    await write(honest, hep3('INVITE'))
    await waitFor(() => rec.packets.length === 1, 'the honest packet')
    await waitFor(() => rec.closedBy('evicted').length === 1, 'one eviction')
    const ev = rec.closedBy('evicted')[0]
    expect(ev.remote.port).toBe(idle[0].port)
    expect(ev.detail).toMatch(
      /^the listener had 5 connections; this one had the oldest: no packet since it connected [\d.]+ s ago$/,
    )
    await closedPromise(idle[0])
    expect(honest.destroyed).toBe(false)
    expect(server!.stats().transports.tcp!.connections).toEqual({
      open: 5,
      accepted: 6,
      closed: { evicted: 1 },
    })
  })

  it('never evicts a sender that delivers while silent connections keep coming', async () => {
    const { rec, port } = await start({ maxConnections: 4 })
    const talker = await tcp(port)
    await write(talker, hep3('first'))
    await waitFor(() => rec.packets.length === 1, 'first packet')
    for (let i = 0; i < 20; i++) {
      await tcp(port)
      if (i % 5 === 0) await write(talker, hep3(`keep ${i}`))
    }
    await waitFor(() => rec.closedBy('evicted').length === 17, '17 evictions')
    await write(talker, hep3('last'))
    await waitFor(() => rec.packets.length === 6, 'all 6 packets')
    expect(rec.closedBy('evicted').map((c) => c.remote.port)).not.toContain(talker.port)
    expect(talker.destroyed).toBe(false)
  })

  it('with no silent connection, evicts the one whose last packet is the oldest', async () => {
    const { rec, port } = await start({ maxConnections: 3 })
    const [a, b, c] = [await tcp(port), await tcp(port), await tcp(port)]
    for (const s of [a, b, c, a]) {
      await write(s, hep3('x'))
      await waitFor(() => rec.packets.length > 0 && rec.packets.at(-1)!.remote.port === s.port, 'packet')
      await sleep(5)
    }
    await waitFor(() => rec.packets.length === 4, '4 packets')
    const d = await tcp(port)
    await waitFor(() => rec.closedBy('evicted').length === 1, 'an eviction')
    expect(rec.closedBy('evicted')[0].remote.port).toBe(b.port)
    expect(rec.closedBy('evicted')[0].detail).toMatch(/this one had the oldest: no packet for [\d.]+ s$/)
    expect([a, c, d].map((s) => s.destroyed)).toEqual([false, false, false])
  })

  it('WebSocket: evicts with close code 1013; TLS: evicts like TCP', async () => {
    const w = await start({ maxConnections: 2 }, 'ws')
    const first = await ws(w.port)
    const firstClosed = closeOf(first)
    await ws(w.port)
    await ws(w.port)
    expect(await firstClosed).toEqual({ code: 1013, reason: 'evicted' })
    await waitFor(() => w.rec.closedBy('evicted').length === 1, 'ws eviction')
    await server!.close()

    const t = await start({ maxConnections: 2 }, 'tls')
    const s1 = await tls(t.port)
    await tls(t.port)
    await tls(t.port)
    await closedPromise(s1 as unknown as Socket)
    await waitFor(() => t.rec.closedBy('evicted').length === 1, 'tls eviction')
    expect(t.rec.closedBy('evicted')[0].transport).toBe('tls')
  })
})

describe('handshakeTimeout', () => {
  it('closes a TLS client that never sends its ClientHello, and one that never sends a packet', async () => {
    const { rec, port } = await start({ handshakeTimeout: 0.3 }, 'tls')
    const mute = await tcp(port) // TCP connected, no ClientHello
    const shy = await tls(port) // handshake done, no packet
    const busy = await tls(port)
    busy.write(hep3('INVITE'))
    const t0 = Date.now()
    await Promise.all([closedPromise(mute), closedPromise(shy as unknown as Socket)])
    expect(Date.now() - t0).toBeLessThan(2000)
    await waitFor(() => rec.closedBy('handshake-timeout').length === 2, 'two handshake timeouts')
    const details = rec.closedBy('handshake-timeout').map((c) => c.detail)
    expect(details).toContain('no TLS handshake within 0.3 s of connecting')
    expect(details).toContain('no complete packet within 0.3 s of connecting')
    await sleep(200)
    expect(busy.destroyed).toBe(false)
    expect(rec.packets).toHaveLength(1)
  })

  it('closes a TCP connection that never completes a packet; one that did stays', async () => {
    const { rec, port } = await start({ handshakeTimeout: 0.3 })
    const half = await tcp(port)
    await write(half, hep3('INVITE').subarray(0, 10))
    const ok = await tcp(port)
    await write(ok, hep3('INVITE'))
    await closedPromise(half)
    await waitFor(() => rec.closedBy('handshake-timeout').length === 1, 'the timeout')
    expect(rec.closedBy('handshake-timeout')[0]).toMatchObject({
      remote: { port: half.port },
      detail: 'no complete packet within 0.3 s of connecting',
    })
    await sleep(300)
    expect(ok.destroyed).toBe(false)
    expect(rec.packets).toHaveLength(1)
  })

  it('closes a WebSocket client that never upgrades, and one that upgrades but sends nothing (1000)', async () => {
    const { rec, port } = await start({ handshakeTimeout: 0.3 }, 'ws')
    const raw = await tcp(port) // no HTTP request at all
    const shy = await ws(port)
    const busy = await ws(port)
    busy.send(hep3('INVITE'))
    const t0 = Date.now()
    await closedPromise(raw)
    expect(await closeOf(shy)).toEqual({ code: 1000, reason: 'handshake-timeout' })
    expect(Date.now() - t0).toBeLessThan(2000)
    await waitFor(() => rec.closedBy('handshake-timeout').length === 1, 'the timeout event')
    expect(rec.closedBy('handshake-timeout')[0].detail).toBe('no complete packet within 0.3 s of connecting')
    await sleep(200)
    expect(busy.readyState).toBe(WebSocket.OPEN)
  })

  it('WebSocket: sockets waiting to upgrade are kept to maxConnections, the oldest goes', async () => {
    const { port } = await start({ maxConnections: 2, handshakeTimeout: 0 }, 'ws')
    const waiting = [await tcp(port), await tcp(port)]
    await sleep(50)
    await tcp(port)
    await closedPromise(waiting[0])
    await sleep(50)
    expect(waiting[1].destroyed).toBe(false)
    const w = await ws(port) // an upgrade still gets in
    w.send(hep3('INVITE'))
    await waitFor(() => server!.stats().total.packets === 1, 'the packet')
  })

  it('defaults to 10 s, and 0 turns it off', async () => {
    const { rec, port } = await start({ handshakeTimeout: 0, idleTimeout: 0 })
    const s = await tcp(port)
    await sleep(400)
    expect(s.destroyed).toBe(false)
    expect(rec.closed()).toEqual([])
    const { resolveGuards } = await import('../../src/net/conn.js')
    expect(resolveGuards({}).handshakeTimeout).toBe(10)
    expect(() => resolveGuards({ handshakeTimeout: -1 })).toThrow(/handshakeTimeout must be a number >= 0/)
  })
})

describe('out of file descriptors', () => {
  it.skipIf(process.platform !== 'linux')('reads the soft limit that `ulimit -n` shows', () => {
    const shown = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' }).stdout.trim()
    expect(readFdLimit()).toBe(shown === 'unlimited' ? undefined : Number(shown))
    const b = new DescriptorBudget(1_000_000)
    b.count()
    expect(b.inUse).toBeGreaterThan(3)
    expect(b.exhausted()).toBe(false)
    b.limit = b.inUse + FD_RESERVE
    expect(b.exhausted()).toBe(true)
  })

  it.skipIf(realLimit === undefined)(
    'reports once, evicts the least active connection to admit each new one, and counts them',
    async () => {
      const { rec, port } = await start()
      const talker = await tcp(port)
      await write(talker, hep3('first'))
      await waitFor(() => rec.packets.length === 1, 'first packet')
      // pretend the limit leaves room for 3 more descriptors than in use now and the reserve
      server!.descriptors.count()
      server!.descriptors.limit = server!.descriptors.inUse + FD_RESERVE + 3
      const idle: TestSocket[] = []
      for (let i = 0; i < 10; i++) idle.push(await tcp(port))
      await waitFor(() => rec.closedBy('evicted').length >= 7, 'evictions')
      await write(talker, hep3('still here'))
      await waitFor(() => rec.packets.length === 2, 'second packet')
      expect(rec.errors).toHaveLength(1)
      expect(rec.errors[0].message).toMatch(
        /^out of file descriptors \(EMFILE\): \d+ of the limit of \d+ in use; the connections that have gone longest without a packet are evicted to admit new ones \(accepting pauses briefly when there is none\)$/,
      )
      expect(rec.closedBy('evicted')[0].detail).toMatch(/^out of file descriptors \(EMFILE\); /)
      expect(rec.closedBy('evicted').map((c) => c.remote.port)).not.toContain(talker.port)
      const st = server!.stats().descriptors
      expect(st.hits).toBeGreaterThanOrEqual(7)
      expect(st).toMatchObject({ refused: 0, pauses: 0 })
      expect(st.hits).toBe(rec.closedBy('evicted').length)
    },
  )

  it('an EMFILE from accept itself (libuv had no spare descriptor) pauses accepting and is reported once', async () => {
    const { rec, port, listener } = await start()
    const emfile = (): void => {
      const e = Object.assign(new Error('accept EMFILE'), { code: 'EMFILE', syscall: 'accept' })
      ;(listener as unknown as { listening: import('node:net').Server }).listening.emit('error', e)
    }
    emfile()
    emfile() // while paused: nothing more
    const refused = await new Promise<string | undefined>((resolve) => {
      const s = netConnect({ port, host: '127.0.0.1' })
      s.once('connect', () => {
        s.destroy()
        resolve(undefined)
      })
      s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code))
    })
    expect(refused).toBe('ECONNREFUSED')
    await sleep(ACCEPT_PAUSE_MS + 100)
    const later = await tcp(port)
    await write(later, hep3('INVITE'))
    await waitFor(() => rec.packets.length === 1, 'a packet after the pause')
    expect(rec.errors.map((e) => e.message)).toEqual([
      expect.stringMatching(/^out of file descriptors \(EMFILE\)/),
    ])
    expect(server!.stats().descriptors).toMatchObject({ hits: 0, refused: 0, pauses: 1 })
  })

  it.skipIf(realLimit === undefined)(
    'with nothing to evict, refuses the connection and stops accepting for a moment',
    async () => {
      const { rec, port } = await start()
      server!.descriptors.count()
      server!.descriptors.limit = server!.descriptors.inUse // exhausted
      const first = await tcp(port)
      await closedPromise(first)
      await waitFor(() => rec.closedBy('max-connections').length === 1, 'the refusal')
      expect(rec.closedBy('max-connections')[0].detail).toBe(
        'out of file descriptors, and no connection to evict',
      )
      // paused: nothing listens for ACCEPT_PAUSE_MS
      const refused = await new Promise<string | undefined>((resolve) => {
        const s = netConnect({ port, host: '127.0.0.1' })
        s.once('connect', () => {
          s.destroy()
          resolve(undefined)
        })
        s.once('error', (e: NodeJS.ErrnoException) => resolve(e.code))
      })
      expect(refused).toBe('ECONNREFUSED')
      server!.descriptors.limit = realLimit
      await sleep(ACCEPT_PAUSE_MS + 100)
      const later = await tcp(port)
      await write(later, hep3('INVITE'))
      await waitFor(() => rec.packets.length === 1, 'a packet after the pause')
      expect(server!.stats().descriptors).toMatchObject({ hits: 1, refused: 1, pauses: 1 })
      expect(rec.errors).toHaveLength(1)
    },
  )
})
