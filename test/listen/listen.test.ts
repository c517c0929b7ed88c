// listen() as a library call: what `hep listen --write x.pcap` does, without the CLI.
import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PassThrough } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { listen, PacketFilter, type ListenSession } from '../../src/index.js'
import { CaptureReader, type CaptureRecord } from '../../src/pcap/read/index.js'
import { hep3, waitFor } from '../net/helpers.js'

const tmp = mkdtempSync(join(tmpdir(), 'hep-listen-lib-'))
afterAll(() => rmSync(tmp, { recursive: true, force: true }))

async function sendUdp(port: number, ...packets: Buffer[]): Promise<void> {
  const s = createSocket('udp4')
  for (const p of packets)
    await new Promise<void>((r, j) => s.send(p, port, '127.0.0.1', (e) => (e ? j(e) : r())))
  s.close()
}

const portOf = (l: ListenSession): number => {
  return l.server.getListeners()[0].local.port
}

async function readPcap(path: string): Promise<CaptureRecord[]> {
  const recs: CaptureRecord[] = []
  for await (const batch of new CaptureReader(path).batches()) recs.push(...batch)
  return recs
}

describe('listen()', () => {
  it('a UDP packet arrives: handed to onPacket, counted in stats and in the server stats', async () => {
    const seen: string[] = []
    const l = await listen([{ transport: 'udp', address: '127.0.0.1:0' }], {
      onPacket: (p) => seen.push(p.payload!.toString()),
    })
    await sendUdp(portOf(l), hep3('INVITE sip:a@b SIP/2.0'))
    await waitFor(() => l.stats.shown === 1, 'the packet')
    const r = await l.stop()
    expect(seen).toEqual(['INVITE sip:a@b SIP/2.0'])
    expect(r.stats.received).toBe(1)
    expect(r.stats.kinds()).toEqual([{ captureId: '2001', payloadType: 1, packets: 1 }])
    expect(r.server.total.packets).toBe(1)
    expect(r.udp).toBe(true)
    expect(r.server.dropped.output).toBe(0)
  })

  it('filters: a packet that does not pass is counted as filtered, not shown', async () => {
    const l = await listen([{ transport: 'udp', address: '127.0.0.1:0' }], {
      filter: new PacketFilter({ grep: /BYE/ }),
    })
    await sendUdp(portOf(l), hep3('INVITE sip:a@b SIP/2.0'), hep3('BYE sip:a@b SIP/2.0'))
    await waitFor(() => l.stats.received === 2, 'both packets')
    const r = await l.stop()
    expect([r.stats.shown, r.stats.filtered]).toEqual([1, 1])
  })

  it('count: done resolves with "count" and later packets are not taken', async () => {
    const l = await listen([{ transport: 'udp', address: '127.0.0.1:0' }], { count: 2 })
    await sendUdp(portOf(l), hep3('A'), hep3('B'), hep3('C'))
    expect(await l.done).toBe('count')
    await new Promise((r) => setTimeout(r, 100))
    const r = await l.stop()
    expect(r.stats.shown).toBe(2)
  })

  it('write: the messages are saved as a pcap that our reader reads, with their HEP time', async () => {
    const path = join(tmp, 'calls.pcap')
    const l = await listen([{ transport: 'udp', address: '127.0.0.1:0' }], { write: path })
    await sendUdp(
      portOf(l),
      hep3('INVITE sip:x@y SIP/2.0'),
      hep3('BYE sip:x@y SIP/2.0', { timeSeconds: 1_700_000_005 }),
    )
    await waitFor(() => l.stats.shown === 2, 'both packets')
    await l.stop()
    const recs = await readPcap(path)
    expect(recs.map((r) => r.seconds)).toEqual([1_700_000_000, 1_700_000_005])
    expect(recs[0].nanos).toBe(1000)
    expect(Buffer.from(recs[1].data).toString('latin1')).toContain('BYE sip:x@y SIP/2.0')
  })

  it('stop() resolves once the outputs are flushed and closed; a stream given is written, not ended', async () => {
    const path = join(tmp, 'as-received.hep.pcap')
    const stream = new PassThrough()
    const got: Buffer[] = []
    let ended = false
    stream.on('data', (d: Buffer) => got.push(d))
    stream.on('end', () => (ended = true))
    const l = await listen([{ transport: 'udp', address: '127.0.0.1:0' }], { writeHep: path, write: stream })
    await sendUdp(portOf(l), hep3('OPTIONS sip:x@y SIP/2.0'))
    await waitFor(() => l.stats.shown === 1, 'the packet')
    await expect(l.stop()).resolves.toBeDefined()
    expect(l.outputs.map((o) => o.sink.out.closed)).toEqual([true, true])
    const recs = await readPcap(path)
    expect(recs).toHaveLength(1)
    expect(statSync(path).size).toBe(24 + 16 + recs[0].data.length)
    const written = Buffer.concat(got)
    expect(written.readUInt32LE(0)).toBe(0xa1b2c3d4)
    expect(written.toString('latin1')).toContain('OPTIONS sip:x@y SIP/2.0')
    expect(ended).toBe(false)
    await expect(l.server.listen({ transport: 'udp', port: 0 })).rejects.toThrow(/closed/)
  })

  it('a bind that fails rejects and leaves nothing open', async () => {
    const first = await listen([{ transport: 'tcp', address: '127.0.0.1:0' }])
    const port = first.server.getListeners()[0].local.port
    await expect(listen([{ transport: 'tcp', address: `127.0.0.1:${port}` }])).rejects.toThrow()
    await first.stop()
  })
})
