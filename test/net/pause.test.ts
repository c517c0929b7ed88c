// Backpressure from a slow output (issue #10): pauseInput() stops reading stream connections (new
// ones included) and drops UDP datagrams, counted in stats().dropped.output; resumeInput() reads on.
import { createSocket } from 'node:dgram'
import { afterEach, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { HepServer } from '../../src/net/index.js'
import { hep3, record, sleep, tcpConnect, waitFor, write } from './helpers.js'

let server: HepServer
afterEach(async () => {
  await server?.close()
})

describe('HepServer.pauseInput / resumeInput', () => {
  it('UDP: datagrams that arrive while paused are dropped and counted; after resume they are delivered', async () => {
    server = new HepServer()
    const rec = record(server)
    const l = await server.listen({ transport: 'udp', host: '127.0.0.1', port: 0 })
    const s = createSocket('udp4')
    const send = async (n: number) => {
      for (let i = 0; i < n; i++)
        await new Promise<void>((r) => s.send(hep3(`p${i}`), l.local.port, '127.0.0.1', () => r()))
    }
    await send(5)
    await waitFor(() => rec.packets.length === 5, '5 packets')
    server.pauseInput()
    expect(server.inputPaused).toBe(true)
    await send(7)
    await waitFor(() => server.stats().dropped.output === 7, '7 dropped')
    expect(rec.packets).toHaveLength(5)
    server.resumeInput()
    await send(3)
    await waitFor(() => rec.packets.length === 8, '8 packets')
    const st = server.stats()
    expect(st.dropped.output).toBe(7)
    if (process.platform === 'linux') expect(st.dropped.kernel).toBe(0)
    s.close()
  })

  it('TCP: nothing is read while paused (connections accepted meanwhile too); all arrives after resume', async () => {
    server = new HepServer()
    const rec = record(server)
    const l = await server.listen({ transport: 'tcp', host: '127.0.0.1', port: 0 })
    const a = await tcpConnect(l.local.port)
    await write(a, hep3('first'))
    await waitFor(() => rec.packets.length === 1, 'first packet')
    server.pauseInput()
    const b = await tcpConnect(l.local.port) // accepted while paused
    for (let i = 0; i < 20; i++) {
      await write(a, hep3(`a${i}`))
      await write(b, hep3(`b${i}`))
    }
    await sleep(200)
    expect(rec.packets).toHaveLength(1)
    server.resumeInput()
    await waitFor(() => rec.packets.length === 41, '41 packets')
    expect(server.stats().dropped.output).toBe(0)
    a.destroy()
    b.destroy()
  })

  it('a paused connection is not idle: --idle-timeout does not close it while we do not read', async () => {
    server = new HepServer({ idleTimeout: 1 })
    const rec = record(server)
    const l = await server.listen({ transport: 'tcp', host: '127.0.0.1', port: 0 })
    const a = await tcpConnect(l.local.port)
    server.pauseInput()
    await write(a, hep3('waiting'))
    await sleep(2500)
    expect(rec.closed().map((c) => c.reason)).toEqual([])
    server.resumeInput()
    await waitFor(() => rec.packets.length === 1, 'the packet')
    a.destroy()
  })

  it('a connection accepted while paused is not timed out by --handshake-timeout: we are the ones not reading', async () => {
    server = new HepServer({ handshakeTimeout: 0.5 })
    const rec = record(server)
    const l = await server.listen({ transport: 'tcp', host: '127.0.0.1', port: 0 })
    server.pauseInput()
    const a = await tcpConnect(l.local.port)
    await write(a, hep3('first, sent at once'))
    await sleep(1500)
    expect(rec.closed().map((c) => c.reason)).toEqual([])
    server.resumeInput()
    await waitFor(() => rec.packets.length === 1, 'the packet')
    a.destroy()
  })

  it('WebSocket: messages wait while paused and arrive after resume', async () => {
    server = new HepServer()
    const rec = record(server)
    const l = await server.listen({ transport: 'ws', host: '127.0.0.1', port: 0 })
    server.pauseInput()
    const ws = new WebSocket(`ws://127.0.0.1:${l.local.port}/`)
    await new Promise<void>((r, j) => {
      ws.once('open', () => r())
      ws.once('error', j)
    })
    for (let i = 0; i < 10; i++) ws.send(hep3(`w${i}`))
    await sleep(200)
    expect(rec.packets).toHaveLength(0)
    server.resumeInput()
    await waitFor(() => rec.packets.length === 10, '10 packets')
    ws.close()
  })
})
