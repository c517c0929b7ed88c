/**
 * Fan-out to two local listeners: every destination gets every packet ('all'), or each call stays on
 * one destination ('call-id', hashed key), round robin without a key; mixed transports; totals add up.
 */
import { afterEach, describe, expect, it } from 'vitest'
import { createSender, hashKey, HepServer, MultiSender, type MultiSenderStats } from '../../src/net/index.js'
import { hep3, record, waitFor } from './helpers.js'

let server: HepServer | undefined
let multi: MultiSender | undefined

afterEach(async () => {
  await multi?.close({ timeout: 200 })
  multi = undefined
  await server?.close()
  server = undefined
})

async function twoListeners(a: 'tcp' | 'udp' = 'tcp', b: 'tcp' | 'udp' = 'tcp') {
  server = new HepServer()
  const rec = record(server)
  const la = await server.listen({ transport: a, address: '127.0.0.1:0' })
  const lb = await server.listen({ transport: b, address: '127.0.0.1:0' })
  const urls = [`${a}://127.0.0.1:${la.local.port}`, `${b}://127.0.0.1:${lb.local.port}`]
  const at = (i: number) => rec.packets.filter((e) => e.listenerId === [la.id, lb.id][i])
  return { rec, urls, at }
}

describe('MultiSender', () => {
  it("'all': every destination gets every packet", async () => {
    const { urls, at } = await twoListeners()
    const s = createSender(urls)
    expect(s).toBeInstanceOf(MultiSender)
    multi = s as MultiSender
    expect(s.destination).toBe(urls.join(','))
    for (let i = 0; i < 20; i++) s.send(hep3(`p${i}`))
    const st = (await s.close()) as MultiSenderStats
    await waitFor(() => at(0).length === 20 && at(1).length === 20, '20 packets on each')
    expect(at(0).map((e) => e.packet.payload?.toString())).toEqual(
      at(1).map((e) => e.packet.payload?.toString()),
    )
    expect(st).toMatchObject({ packets: 20, submitted: 40, sent: 40, failed: 0, dropped: 0 })
    expect(st.destinations.map((d) => [d.destination, d.sent])).toEqual([
      [urls[0], 20],
      [urls[1], 20],
    ])
  })

  it("'all' over mixed transports (UDP and TCP)", async () => {
    const { urls, at } = await twoListeners('udp', 'tcp')
    multi = new MultiSender(urls)
    for (let i = 0; i < 10; i++) multi.send(hep3(`p${i}`))
    await multi.close()
    await waitFor(() => at(0).length === 10 && at(1).length === 10, '10 packets on each')
    expect(at(0)[0].transport).toBe('udp')
    expect(at(1)[0].transport).toBe('tcp')
  })

  it("'call-id': each call stays on one destination; both destinations are used", async () => {
    const { urls, at } = await twoListeners()
    multi = new MultiSender(urls, { balance: 'call-id' })
    const calls = Array.from({ length: 12 }, (_, i) => `call-${i}@10.0.0.1`)
    // the hash spreads these keys over both destinations (checked here, so the test cannot pass vacuously)
    expect(new Set(calls.map((c) => hashKey(c) % 2)).size).toBe(2)
    for (let round = 0; round < 5; round++) {
      for (const c of calls) multi.send(hep3(`${c} ${round}`, { correlationId: c }), c)
    }
    await multi.close()
    await waitFor(() => at(0).length + at(1).length === 60, '60 packets')
    for (const c of calls) {
      const where = [0, 1].filter((i) => at(i).some((e) => e.packet.correlationId === c))
      expect(where).toEqual([hashKey(c) % 2])
      expect(at(where[0]).filter((e) => e.packet.correlationId === c)).toHaveLength(5)
    }
    expect(at(0).length).toBeGreaterThan(0)
    expect(at(1).length).toBeGreaterThan(0)
  })

  it("'call-id' without a key, and 'round-robin': alternate", async () => {
    const { urls, at } = await twoListeners()
    multi = new MultiSender(urls, { balance: 'call-id' })
    expect([0, 1, 2, 3].map(() => multi!.pick())).toEqual([0, 1, 0, 1])
    for (let i = 0; i < 10; i++) multi.send(hep3(`p${i}`))
    const st = await multi.close()
    expect(st).toMatchObject({ packets: 10, submitted: 10, sent: 10 })
    await waitFor(() => at(0).length === 5 && at(1).length === 5, '5 packets on each')
    const rr = new MultiSender(urls, { balance: 'round-robin' })
    expect(['a', 'a', 'a'].map((k) => rr.pick(k))).toEqual([0, 1, 0])
    await rr.close()
  })

  it('hashKey is FNV-1a over UTF-8', () => {
    expect(hashKey('')).toBe(0x811c9dc5)
    expect(hashKey('a')).toBe(0xe40c292c)
    expect(hashKey('foobar')).toBe(0xbf9cf968)
  })

  it('ready() waits for every destination; one unreachable destination does not stop the other', async () => {
    const { urls, at } = await twoListeners()
    multi = new MultiSender([urls[0], 'tcp://127.0.0.1:1'], {
      queueLimit: 5,
      onFull: 'drop',
      reconnectDelay: 50,
    })
    for (let i = 0; i < 20; i++) {
      multi.send(hep3(`p${i}`))
      await multi.senders[0].ready()
    }
    await waitFor(() => at(0).length === 20, '20 packets on the live destination')
    const st = await multi.close({ timeout: 100 })
    expect(st.sent + st.failed + st.dropped).toBe(st.submitted)
    expect(st.destinations[1]).toMatchObject({ sent: 0, dropped: 15, failed: 5 })
  })
})
