// `hep listen --duration S --to DEST` with DEST down ends on time: it waited for the close deadline
// of 5 s for a destination that could not take anything (Ctrl-C stopped in 0.4 s). What it received
// is spooled (--spool) or counted failed and dropped; the relay's counts add up.
import { createSocket } from 'node:dgram'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { encode } from '../../src/index.js'
import { start } from '../helpers/cli.js'
import { sipPacket } from '../net/helpers.js'

const DURATION_S = 3
/** "on time": within 1 s of the duration, with room for a loaded machine */
const LATE_MS = 1800

/** A loopback TCP port on which nothing listens (bound by the OS, then freed). */
function closedPort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer()
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port
      s.close(() => resolve(p))
    })
  })
}

async function sendUdp(port: number, n: number): Promise<void> {
  const s = createSocket('udp4')
  for (let i = 0; i < n; i += 50) {
    await Promise.all(
      Array.from({ length: Math.min(50, n - i) }, (_, k) => {
        const b = encode(sipPacket(`MESSAGE sip:x@y SIP/2.0\r\nCall-ID: d-${i + k}\r\n\r\n`))
        return new Promise<void>((r) => s.send(b, port, '127.0.0.1', () => r()))
      }),
    )
    await new Promise((r) => setTimeout(r, 5))
  }
  s.close()
}

const dir = mkdtempSync(join(tmpdir(), 'hep-duration-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

describe('listen --duration with a relay destination that is down', () => {
  it.each([
    ['no spool: the memory queue counted failed, the rest dropped', false],
    ['--spool: everything received is left in the spool', true],
  ])('%s; ends within 1 s of the duration', async (_name, spool) => {
    const dest = `tcp://127.0.0.1:${await closedPort()}`
    const r = start([
      'listen',
      '--udp',
      '127.0.0.1:0',
      '--to',
      dest,
      '--duration',
      String(DURATION_S),
      '--recv-buffer',
      '4194304',
      ...(spool ? ['--spool', join(dir, 'spool')] : []),
    ])
    const port = Number((await r.waitFor(/listening on udp [^ ]+:(\d+)/)).at(1))
    const t0 = Date.now() // the duration runs from about here (the socket is bound just before)
    await r.waitFor(/cannot connect/)
    await sendUdp(port, 1500)
    const code = await r.exited
    const ms = Date.now() - t0
    expect(ms, r.stderr()).toBeLessThan(DURATION_S * 1000 + LATE_MS)
    expect(code).toBe(spool ? 0 : 4) // 4: packets failed or dropped
    const m =
      /relayed to [^:]+:\/\/[^:]+:\d+: (\d+) packets: (\d+) sent, (\d+) failed, (\d+) dropped(?:, (\d+) left in the spool)?/.exec(
        r.stderr(),
      )
    expect(m, r.stderr()).not.toBeNull()
    const [n, sent, failed, dropped, left] = m!.slice(1).map((x) => Number(x ?? 0))
    expect(n).toBe(1500)
    expect(sent + failed + dropped + left).toBe(n)
    if (spool) expect({ sent, failed, dropped, left }).toEqual({ sent: 0, failed: 0, dropped: 0, left: 1500 })
    else {
      expect(sent).toBe(0)
      expect(failed).toBe(1000) // --queue-limit's default, held in memory
      expect(dropped).toBe(500)
    }
  })
})
