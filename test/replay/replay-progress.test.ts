// replay()'s progress callback: after every packet, one object updated in place, read then.
import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { createSender } from '../../src/net/sender.js'
import { replay, type ReplayProgress } from '../../src/replay/replay.js'
import { fixture } from '../helpers/cli.js'

const seen = () => {
  const calls: { packets: number; elapsedMs: number; captureMs: number }[] = []
  const onProgress = (p: ReplayProgress) =>
    calls.push({ packets: p.packets, elapsedMs: p.elapsedMs, captureMs: p.captureMs })
  return { calls, onProgress }
}

describe('replay() progress', () => {
  it('a dry run: every packet counted once, in order; elapsed and capture time never go back', async () => {
    const { calls, onProgress } = seen()
    const s = await replay({
      files: [fixture('captures/sip-udp.pcap')],
      timing: { mode: { kind: 'topspeed' } },
      onProgress,
    })
    expect(s.packets).toBeGreaterThan(3)
    expect(calls.map((c) => c.packets)).toEqual(Array.from({ length: s.packets }, (_, i) => i + 1))
    for (let i = 1; i < calls.length; i++) {
      expect(calls[i].elapsedMs).toBeGreaterThanOrEqual(calls[i - 1].elapsedMs)
      expect(calls[i].captureMs).toBeGreaterThanOrEqual(calls[i - 1].captureMs)
    }
    expect(calls[0].elapsedMs).toBeGreaterThanOrEqual(0)
    expect(calls[0].captureMs).toBe(0)
    expect(calls.at(-1)!.elapsedMs).toBeLessThanOrEqual(s.elapsedMs)
  })

  it('sending on the capture’s timing: elapsed time follows the schedule', async () => {
    const sink = createSocket('udp4')
    let got = 0
    sink.on('message', () => got++)
    await new Promise<void>((r) => sink.bind(0, '127.0.0.1', r))
    const sender = createSender(`127.0.0.1:${sink.address().port}`)
    const { calls, onProgress } = seen()
    try {
      // 100 packets a second: the last one 10 ms a packet after the first
      const s = await replay(
        {
          files: [fixture('captures/sip-udp.pcap')],
          timing: { mode: { kind: 'pps', pps: 100 } },
          onProgress,
        },
        sender,
      )
      expect(s.sent).toBe(s.packets)
      const last = calls.at(-1)!
      expect(last.packets).toBe(s.packets)
      expect(last.elapsedMs).toBeGreaterThanOrEqual((s.packets - 1) * 10 - 1)
      expect(last.elapsedMs).toBeLessThanOrEqual(s.elapsedMs)
      await new Promise((r) => setTimeout(r, 50))
      expect(got).toBe(s.sent)
    } finally {
      sink.close()
    }
  })
})
