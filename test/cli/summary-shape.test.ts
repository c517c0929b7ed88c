// --json summaries have one shape: a last stdout line {"summary":true,…} (BaseCommand.summaryOut).
import { createSocket } from 'node:dgram'
import { describe, expect, it } from 'vitest'
import { fixture, hep } from '../helpers/cli.js'

describe('--json summary', () => {
  it('send --json ends with {"summary":true,…} counting what was sent', async () => {
    const rx = createSocket('udp4')
    let got = 0
    rx.on('message', () => got++)
    await new Promise<void>((r) => rx.bind(0, '127.0.0.1', r))
    const s = await hep([
      'send',
      fixture('hep/hep-v3-extras.hex'),
      '--to',
      `127.0.0.1:${rx.address().port}`,
      '--json',
    ])
    rx.close()
    expect(s.code).toBe(0)
    const last = JSON.parse(s.stdout.trimEnd().split('\n').pop()!)
    expect(last).toMatchObject({ summary: true, failed: 0, dropped: 0 })
    expect(last.sent).toBeGreaterThan(0)
    expect(last.in).toBe(last.sent)
    expect(s.stderr).toBe('')
  })
})
