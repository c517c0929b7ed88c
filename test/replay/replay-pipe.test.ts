/**
 * `hep replay -` fed by a live pipe (`tcpdump -i IF --immediate-mode -U -w - | hep replay - --topspeed`):
 * a capture written into a FIFO one record at a time, with pauses, the way tcpdump writes it. Each
 * message must leave as HEP before the next record is written (nothing waits for a fuller read, a
 * block or the end of the input), a record that comes in two pieces leaves once it is whole, and
 * none is lost or sent twice. pcap (tcpdump) and pcapng (dumpcap) from fixtures/captures.
 */
import { spawn } from 'node:child_process'
import dgram from 'node:dgram'
import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { decodeDatagram } from '../../src/hep/codec.js'
import { readAll } from '../../src/pcap/read/index.js'
import { BIN, fixture, ROOT } from '../helpers/cli.js'
import { parseCapture } from '../helpers/mini-pcap.js'

const dir = mkdtempSync(join(tmpdir(), 'hep-replay-pipe-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

/** The file's header and its records as the bytes a writer puts in the pipe, in order. */
function pieces(file: string): { head: Buffer; records: Buffer[] } {
  const buf = readFileSync(file)
  const records: Buffer[] = []
  if (buf.readUInt32LE(0) === 0x0a0d0d0a) {
    // pcapng: the section header and interface blocks first, then one block per packet
    let off = 0
    let headEnd = 0
    while (off + 8 <= buf.length) {
      const type = buf.readUInt32LE(off)
      const len = buf.readUInt32LE(off + 4)
      if (type === 6 || type === 3) records.push(buf.subarray(off, off + len))
      else if (records.length === 0) headEnd = off + len
      off += len
    }
    return { head: buf.subarray(0, headEnd), records }
  }
  let off = 24
  while (off + 16 <= buf.length) {
    const incl = buf.readUInt32LE(off + 8)
    records.push(buf.subarray(off, off + 16 + incl))
    off += 16 + incl
  }
  return { head: buf.subarray(0, 24), records }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

async function until(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms
  while (!cond()) {
    if (Date.now() > end) return false
    await sleep(2)
  }
  return true
}

describe('hep replay - from a live pipe', { timeout: 60_000 }, () => {
  for (const name of ['sip-udp.pcap', 'sip-udp.pcapng']) {
    it(`${name}: each record written leaves as HEP before the next is written; none lost`, async () => {
      const file = fixture(`captures/${name}`)
      const { head, records } = pieces(file)
      // what the capture holds, as the reader sees it: the SIP payloads in order
      const want = (await readAll(file)).length
      expect(records).toHaveLength(want)
      const sip = parseCapture(readFileSync(file)).map((r) => r.data.subarray(r.data.length - 40))
      const sock = dgram.createSocket('udp4')
      const got: Buffer[] = []
      sock.on('message', (m) => got.push(m))
      await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r))
      const fifo = join(dir, `in-${name}`)
      execFileSync('mkfifo', [fifo])
      const port = sock.address().port
      const child = spawn(
        'sh',
        ['-c', `exec "${process.execPath}" "${BIN}" replay - --topspeed --to 127.0.0.1:${port} < "${fifo}"`],
        { cwd: ROOT, env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] },
      )
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
      const exited = new Promise<number | null>((r) => child.on('close', r))
      const w = await open(fifo, 'w')
      try {
        await w.write(head)
        for (let i = 0; i < records.length; i++) {
          const rec = records[i]
          if (i % 3 === 2) {
            // a record in two writes: nothing may leave before its second part
            const cut = Math.floor(rec.length / 2)
            await w.write(rec.subarray(0, cut))
            await sleep(60)
            expect(got.length, `HEP for record ${i + 1} from half a record`).toBe(i)
            await w.write(rec.subarray(cut))
          } else await w.write(rec)
          // promptness: its HEP comes before the next record is written (generous on a loaded machine)
          const ok = await until(() => got.length >= i + 1, 5000)
          expect(
            ok,
            `record ${i + 1} of ${records.length} not sent while the pipe stays open; ${stderr}`,
          ).toBe(true)
          expect(got).toHaveLength(i + 1)
          // and it is that record's message
          const p = decodeDatagram(got[i])
          expect(p.payload?.subarray(p.payload.length - 40)).toEqual(sip[i])
          await sleep(20)
        }
      } finally {
        await w.close()
      }
      const code = await exited
      await sleep(50)
      sock.close()
      expect(code, stderr).toBe(0)
      expect(got).toHaveLength(records.length)
      expect(stderr).toMatch(new RegExp(`packets sent\\s*│\\s*${records.length}\\s`))
    })
  }
})
