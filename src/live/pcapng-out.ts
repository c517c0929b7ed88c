/**
 * `hep capture --write FILE.pcapng`: what the engines captured, as one pcapng file. Each engine
 * process's byte stream (pcap from tcpdump, pcapng from dumpcap) is parsed again here, and its records
 * are written as enhanced packet blocks (nanosecond timestamps) into one section, with an interface
 * description block for each (process, interface) as it first appears, named after the interface.
 */
import { CaptureParser, type CaptureRecord } from '../pcap/read/index.js'
import { OutputWriter, type WriterOptions } from '../output/writer.js'

function pad4(n: number): number {
  return (n + 3) & ~3
}

function shb(): Buffer {
  const b = Buffer.alloc(28)
  b.writeUInt32LE(0x0a0d0d0a, 0)
  b.writeUInt32LE(28, 4)
  b.writeUInt32LE(0x1a2b3c4d, 8)
  b.writeUInt16LE(1, 12)
  b.writeUInt16LE(0, 14)
  b.writeBigInt64LE(-1n, 16) // section length unknown
  b.writeUInt32LE(28, 24)
  return b
}

function idb(linkType: number, name: string): Buffer {
  const nameBytes = Buffer.from(name, 'utf8')
  // options: if_name (2), if_tsresol (9) = 9 (ns), end
  const optLen = 4 + pad4(nameBytes.length) + 4 + 4 + 4
  const n = 20 + optLen
  const b = Buffer.alloc(n)
  b.writeUInt32LE(1, 0)
  b.writeUInt32LE(n, 4)
  b.writeUInt16LE(linkType, 8)
  b.writeUInt32LE(262144, 12)
  let o = 16
  b.writeUInt16LE(2, o)
  b.writeUInt16LE(nameBytes.length, o + 2)
  nameBytes.copy(b, o + 4)
  o += 4 + pad4(nameBytes.length)
  b.writeUInt16LE(9, o)
  b.writeUInt16LE(1, o + 2)
  b[o + 4] = 9
  o += 8
  // opt_endofopt: 4 zero bytes (already zero)
  b.writeUInt32LE(n, n - 4)
  return b
}

function epb(iface: number, r: CaptureRecord): Buffer {
  const n = 32 + pad4(r.data.length)
  const b = Buffer.alloc(n)
  const ns = BigInt(r.seconds) * 1_000_000_000n + BigInt(r.nanos)
  b.writeUInt32LE(6, 0)
  b.writeUInt32LE(n, 4)
  b.writeUInt32LE(iface, 8)
  b.writeUInt32LE(Number(ns >> 32n), 12)
  b.writeUInt32LE(Number(ns & 0xffffffffn), 16)
  b.writeUInt32LE(r.data.length, 20)
  b.writeUInt32LE(r.originalLength, 24)
  r.data.copy(b, 28)
  b.writeUInt32LE(n, n - 4)
  return b
}

/** One pcapng file fed by several engine streams. */
export class PcapngOut {
  readonly out: OutputWriter
  private ifaces = new Map<string, number>()
  private streams = 0
  records = 0
  /** records left out because the file took nothing for longer than its buffer bound (a stalled disk) */
  dropped = 0

  constructor(path: string, options: WriterOptions = {}) {
    this.out = new OutputWriter(path, options)
    this.out.write(shb())
  }

  /** A feed for one engine stream: give it the stream's bytes as they come; `names` names its interfaces by id. */
  feed(names: (id: number) => string): (chunk: Buffer) => void {
    const parser = new CaptureParser()
    const stream = this.streams++
    return (chunk) => {
      for (const r of parser.push(chunk)) {
        const key = `${stream}/${r.interfaceId}/${r.linkType}`
        let id = this.ifaces.get(key)
        if (id === undefined) {
          id = this.ifaces.size
          this.ifaces.set(key, id)
          this.out.write(idb(r.linkType, names(r.interfaceId)))
        }
        if (this.out.full) {
          this.dropped++
          continue
        }
        this.out.write(epb(id, r))
        this.records++
      }
    }
  }

  async close(): Promise<void> {
    await this.out.end()
  }
}
