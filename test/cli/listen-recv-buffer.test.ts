// listen asks for an 8 MiB UDP receive buffer by default, reports the size the kernel gave, and says
// which sysctl to raise when the kernel capped it (#15: the default 208 KiB dropped ~1 % at 50k/s).
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { start } from '../helpers/cli.js'

const rmemMax = Number(readFileSync('/proc/sys/net/core/rmem_max', 'utf8'))
const MiB8 = 8 * 1024 * 1024

async function bufferOf(args: string[]): Promise<{ got: number; err: string }> {
  const l = start(['listen', '--udp', '127.0.0.1:0', '--json', '--duration', '1', ...args])
  const m = await l.waitFor(/listening on udp \S+ \(receive buffer (\d+) bytes\)/)
  await l.exited
  return { got: Number(m[1]), err: l.stderr() }
}

describe('listen UDP receive buffer', () => {
  it('asks for 8 MiB by default: the kernel gives twice min(8 MiB, rmem_max)', async () => {
    const { got, err } = await bufferOf([])
    expect(got).toBe(2 * Math.min(MiB8, rmemMax))
    // capped only if the kernel gave less than asked
    expect(err.includes('sysctl -w net.core.rmem_max=8388608')).toBe(got < MiB8)
  })

  it('names the sysctl to raise when the kernel caps what was asked', async () => {
    const asked = 4 * rmemMax // more than the kernel keeps (twice rmem_max)
    const { got, err } = await bufferOf(['--recv-buffer', String(asked)])
    expect(got).toBe(2 * rmemMax)
    expect(err).toContain(
      `asked for a receive buffer of ${asked} bytes, the kernel gave ${got}; bursts may be dropped: raise its cap with \`sysctl -w net.core.rmem_max=${asked}\``,
    )
  })

  it('keeps a smaller size asked for, without a warning', async () => {
    const { got, err } = await bufferOf(['--recv-buffer', '65536'])
    expect(got).toBe(131072)
    expect(err).not.toContain('sysctl')
  })
})
