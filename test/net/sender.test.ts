/**
 * Senders, on loopback only: connect timeout (a listener whose accept queue is full, and a TLS / WS
 * server that never answers the handshake), write timeout (a receiver that never reads), reconnection
 * with exponential backoff after the receiver restarts on the same port, the bounded queue
 * (backpressure and drop), and counters that always add up: sent + failed + dropped == submitted.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { connect, createServer, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { HepError } from '../../src/errors.js'
import {
  createSender,
  HepServer,
  type DisconnectEvent,
  type HepSender,
  type SenderOptions,
  type SenderStats,
} from '../../src/net/index.js'
import { loadHexVectors } from '../helpers/fixtures.js'
import { hep3, record, sleep, waitFor } from './helpers.js'

let senders: HepSender[] = []
let servers: HepServer[] = []
let rawServers: Server[] = []
let children: ChildProcess[] = []
let sockets: Socket[] = []

afterEach(async () => {
  await Promise.all(senders.map((s) => s.close({ timeout: 200 })))
  senders = []
  await Promise.all(servers.map((s) => s.close()))
  servers = []
  for (const s of sockets) s.destroy()
  sockets = []
  await Promise.all(rawServers.map((s) => new Promise((r) => s.close(r))))
  rawServers = []
  for (const c of children) c.kill('SIGKILL')
  children = []
})

function sender(dest: string, options: SenderOptions = {}): HepSender {
  const s = createSender(dest, options)
  senders.push(s)
  return s
}

async function hepServer(port = 0) {
  const server = new HepServer()
  servers.push(server)
  const rec = record(server)
  const l = await server.listen({ transport: 'tcp', host: '127.0.0.1', port })
  return { server, rec, port: l.local.port }
}

/** A port where nothing listens (connections are refused at once). */
async function closedPort(): Promise<number> {
  const s = createServer()
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  const port = (s.address() as { port: number }).port
  await new Promise((r) => s.close(r))
  return port
}

/** A raw TCP server that accepts and never reads or answers. */
async function deafServer(): Promise<number> {
  const s = createServer({ pauseOnConnect: true }, (c) => {
    sockets.push(c)
    c.on('error', () => {})
  })
  rawServers.push(s)
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r))
  return (s.address() as { port: number }).port
}

function addsUp(st: SenderStats): void {
  expect(st.sent + st.failed + st.dropped + st.queued + st.inFlight).toBe(st.submitted)
}

describe('connect timeout', () => {
  it('fails a TCP connect to a listener whose accept queue is full, and keeps retrying', async () => {
    // a child process listens with a backlog of 1 and never accepts (its event loop is blocked)
    const child = spawn(
      process.execPath,
      [
        '-e',
        `const s = require('net').createServer()
         s.listen({ port: 0, host: '127.0.0.1', backlog: 1 }, () => {
           process.stdout.write(s.address().port + '\\n')
           Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20000)
         })`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    )
    children.push(child)
    const port = await new Promise<number>((resolve, reject) => {
      child.stdout!.once('data', (d: Buffer) => resolve(Number(d.toString().trim())))
      child.once('error', reject)
    })
    // fill the accept queue: connect until one connection hangs (at most 8 tries)
    for (let i = 0; i < 8; i++) {
      const ok = await new Promise<boolean>((resolve) => {
        const s = connect(port, '127.0.0.1')
        sockets.push(s)
        s.on('error', () => resolve(false))
        s.once('connect', () => resolve(true))
        setTimeout(() => resolve(false), 300)
      })
      if (!ok) break
    }
    const s = sender(`tcp://127.0.0.1:${port}`, { connectTimeout: 200, reconnectDelay: 50 })
    const disconnects: DisconnectEvent[] = []
    s.on('disconnect', (e) => disconnects.push(e))
    s.send(hep3('never delivered'))
    const t0 = Date.now()
    const err = await s.connect().then(
      () => undefined,
      (e: HepError) => e,
    )
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150)
    expect(err).toBeInstanceOf(HepError)
    expect(err?.code).toBe('NET')
    expect(err?.message).toBe(
      `cannot connect to tcp://127.0.0.1:${port}: no connection within 200 ms (connect timeout)`,
    )
    await waitFor(() => disconnects.length >= 2, 'a second attempt')
    expect(disconnects.every((d) => d.error?.reason === 'CONNECT_TIMEOUT' && !d.wasConnected)).toBe(true)
    const st = await s.close({ timeout: 50 })
    expect(st).toMatchObject({ submitted: 1, sent: 0, failed: 1, dropped: 0, connects: 0 })
  })

  it.each(['tls', 'ws'])(
    'covers the %s handshake: a server that accepts and never answers',
    async (scheme) => {
      const port = await deafServer()
      const s = sender(`${scheme}://127.0.0.1:${port}`, { connectTimeout: 250, reconnect: false })
      s.send(hep3('x'))
      const err = await s.connect().then(
        () => undefined,
        (e: Error) => e,
      )
      expect(err?.message).toMatch(/^cannot connect to \w+:\/\/127\.0\.0\.1:\d+\/?: /)
      expect(err?.message).toMatch(/connect timeout|handshake has timed out/i)
      const st = await s.close()
      expect(st).toMatchObject({ submitted: 1, sent: 0, failed: 1 })
    },
  )

  it('reports a refused connection clearly', async () => {
    const port = await closedPort()
    const s = sender(`tcp://127.0.0.1:${port}`, { reconnect: false })
    await expect(s.connect()).rejects.toThrow(
      `cannot connect to tcp://127.0.0.1:${port}: connection refused (nothing listens there?) (ECONNREFUSED)`,
    )
  })
})

describe('write timeout', () => {
  it('fails the connection when the receiver stops reading; what it never read is not counted sent', async () => {
    const port = await deafServer()
    const s = sender(`tcp://127.0.0.1:${port}`, { writeTimeout: 300, queueLimit: 1000, reconnectDelay: 50 })
    const disconnects: DisconnectEvent[] = []
    s.on('disconnect', (e) => disconnects.push(e))
    const big = hep3('x', {}, 60_000)
    for (let i = 0; i < 600; i++) s.send(big) // 36 MB: more than the kernel buffers on both sides
    await waitFor(() => disconnects.length >= 1, 'the write timeout', 10_000)
    const d = disconnects[0]
    expect(d.wasConnected).toBe(true)
    expect(d.error?.reason).toBe('WRITE_TIMEOUT')
    expect(d.error?.message).toMatch(
      new RegExp(
        `^write timeout: tcp://127\\.0\\.0\\.1:${port} took no data for 300 ms .*is the receiver reading\\?\\)$`,
      ),
    )
    expect(d.reconnectIn).toBe(50)
    const during = s.stats()
    addsUp(during)
    // the receiver read nothing: what sits in the kernel buffers is not sent, and goes back to the queue
    // to be sent again after reconnecting (issue #10: it used to count as sent, the rest as failed)
    expect(during.sent).toBe(0)
    expect(during.failed).toBe(0)
    expect(during.queued).toBe(600)
    await waitFor(() => s.stats().resent > 0, 'the resend after reconnecting', 5000)
    const st = await s.close({ timeout: 100 })
    expect(st.queued + st.inFlight).toBe(0)
    expect(st.sent + st.failed + st.dropped).toBe(600)
    expect(st.sent).toBe(0)
  })
})

describe('reconnect', () => {
  it('reconnects after the receiver restarts on the same port; packets queued meanwhile arrive', async () => {
    const first = await hepServer()
    const port = first.port
    const s = sender(`tcp://127.0.0.1:${port}`, { reconnectDelay: 100, reconnectMaxDelay: 400 })
    const disconnects: DisconnectEvent[] = []
    s.on('disconnect', (e) => disconnects.push(e))
    let connects = 0
    s.on('connect', () => connects++)
    for (let i = 0; i < 10; i++) s.send(hep3(`before ${i}`))
    expect(await s.flush(3000)).toBe(true)
    await waitFor(() => first.rec.packets.length === 10, '10 packets')
    await first.server.close()
    await waitFor(() => disconnects.length === 1, 'the disconnect')
    expect(disconnects[0]).toMatchObject({ wasConnected: true, reconnectIn: 100 })
    expect(disconnects[0].error?.message).toBe(`tcp://127.0.0.1:${port} closed the connection`)
    for (let i = 0; i < 10; i++) s.send(hep3(`while down ${i}`))
    await waitFor(() => disconnects.length >= 3, 'failed attempts while down')
    expect(disconnects.slice(1, 3).map((d) => [d.wasConnected, d.error?.reason, d.reconnectIn])).toEqual([
      [false, 'ECONNREFUSED', 200],
      [false, 'ECONNREFUSED', 400],
    ])
    expect(s.queued).toBe(10)
    const second = await hepServer(port)
    await waitFor(() => second.rec.packets.length === 10, 'the queued packets after the restart', 3000)
    expect(second.rec.packets.map((e) => e.packet.payload?.toString())).toEqual(
      Array.from({ length: 10 }, (_, i) => `while down ${i}`),
    )
    expect(connects).toBe(2)
    const st = await s.close()
    expect(st).toMatchObject({ submitted: 20, sent: 20, failed: 0, dropped: 0, connects: 2 })
    // the first receiver read all 10 and closed cleanly (no reset): nothing was sent twice
    expect(st.resent).toBe(0)
  })

  it('backs off exponentially up to reconnectMaxDelay', async () => {
    const port = await closedPort()
    const s = sender(`tcp://127.0.0.1:${port}`, { reconnectDelay: 10, reconnectMaxDelay: 40 })
    const delays: number[] = []
    s.on('disconnect', (e) => delays.push(e.reconnectIn ?? -1))
    s.send(hep3('x'))
    await waitFor(() => delays.length >= 6, '6 attempts')
    expect(delays.slice(0, 6)).toEqual([10, 20, 40, 40, 40, 40])
    const st = await s.close({ timeout: 0 })
    expect(st).toMatchObject({ submitted: 1, failed: 1 })
  })
})

describe('bounded queue', () => {
  it("onFull 'drop': drops beyond queueLimit, and everything adds up", async () => {
    const port = await closedPort()
    const s = sender(`tcp://127.0.0.1:${port}`, { queueLimit: 10, onFull: 'drop' })
    let droppedEvents = 0
    s.on('dropped', (e) => (droppedEvents += e.count))
    const results = Array.from({ length: 25 }, (_, i) => s.send(hep3(`p${i}`)))
    expect(results.slice(0, 9).every(Boolean)).toBe(true)
    expect(results.slice(9).some(Boolean)).toBe(false)
    expect(s.stats()).toMatchObject({ submitted: 25, queued: 10, dropped: 15 })
    expect(droppedEvents).toBe(15)
    const st = await s.close({ timeout: 100 })
    expect(st).toMatchObject({ submitted: 25, sent: 0, dropped: 15, failed: 10, queued: 0 })
  })

  it("onFull 'drop' with a live receiver: what was queued arrives", async () => {
    const { rec, port } = await hepServer()
    const s = sender(`tcp://127.0.0.1:${port}`, { queueLimit: 10, onFull: 'drop' })
    for (let i = 0; i < 100; i++) s.send(hep3(`p${i}`)) // all before the connection is up
    const st = await s.close()
    expect(st).toMatchObject({ submitted: 100, sent: 10, dropped: 90, failed: 0 })
    await waitFor(() => rec.packets.length === 10, '10 packets')
  })

  it("'backpressure': send returns false when full, ready()/drain let the caller wait; nothing is lost", async () => {
    const { rec, port } = await hepServer()
    const s = sender(`tcp://127.0.0.1:${port}`, { queueLimit: 10 })
    let falses = 0
    let drains = 0
    s.on('drain', () => drains++)
    for (let i = 0; i < 300; i++) {
      if (!s.send(hep3(`p${i}`))) {
        falses++
        expect(s.needDrain).toBe(true)
        await s.ready()
      }
      expect(s.queued).toBeLessThanOrEqual(10)
    }
    const st = await s.close()
    expect(falses).toBeGreaterThan(0)
    expect(drains).toBeGreaterThan(0)
    expect(st).toMatchObject({ submitted: 300, sent: 300, dropped: 0, failed: 0 })
    await waitFor(() => rec.packets.length === 300, '300 packets')
    expect(rec.packets.map((e) => e.packet.payload?.toString())).toEqual(
      Array.from({ length: 300 }, (_, i) => `p${i}`),
    )
  })

  it("'backpressure' with a caller that ignores it: packets stay queued (not dropped) and fail at close", async () => {
    const port = await closedPort()
    const s = sender(`tcp://127.0.0.1:${port}`, { queueLimit: 10 })
    const r = Array.from({ length: 30 }, () => s.send(hep3('x')))
    expect(r.filter((x) => !x)).toHaveLength(21)
    expect(s.stats()).toMatchObject({ queued: 30, dropped: 0 })
    const st = await s.close({ timeout: 50 })
    expect(st).toMatchObject({ submitted: 30, sent: 0, dropped: 0, failed: 30 })
  })

  it('sendAsync waits for room', async () => {
    const { rec, port } = await hepServer()
    const s = sender(`tcp://127.0.0.1:${port}`, { queueLimit: 2 })
    for (let i = 0; i < 50; i++) await s.sendAsync(hep3(`a${i}`))
    expect((await s.close()).sent).toBe(50)
    await waitFor(() => rec.packets.length === 50, '50 packets')
  })
})

describe('sender rules', () => {
  it('refuses HEP v1/v2 on a TCP stream (no length field), with a hint', async () => {
    const { port } = await hepServer()
    const s = sender(`tcp://127.0.0.1:${port}`)
    const errors: Error[] = []
    s.on('error', (e) => errors.push(e))
    expect(s.send(loadHexVectors('hep-v1')[0])).toBe(false)
    expect(errors[0].message).toBe(
      'a HEPv1 packet cannot be sent on a tcp stream (only HEP3 carries its length); encode as version 3 or send over udp://',
    )
    const st = await s.close()
    expect(st).toMatchObject({ submitted: 1, failed: 1 })
  })

  it('throws when used after close()', async () => {
    const s = sender('udp://127.0.0.1:9')
    await s.close()
    expect(() => s.send(hep3('late'))).toThrow(/is closed/)
  })

  it('never crashes without an error listener', async () => {
    const port = await closedPort()
    const s = sender(`tcp://127.0.0.1:${port}`, { reconnectDelay: 10 })
    s.send(hep3('x'))
    await sleep(100)
    expect(s.stats().disconnects).toBeGreaterThan(0)
  })

  it('validates options', () => {
    expect(() => createSender('tcp://h:1', { queueLimit: 0 })).toThrow(/queueLimit must be a number > 0/)
    expect(() => createSender('tcp://h:1', { onFull: 'block' as 'drop' })).toThrow(/onFull/)
    expect(() => createSender('tls://h:1', { ca: '/nonexistent/ca.pem' })).toThrow(
      'cannot read the TLS CA file "/nonexistent/ca.pem"',
    )
  })
})
