/**
 * What a file is, from its first bytes: the magic numbers of classic pcap (and its variants), pcapng and
 * gzip, and a human description of bytes that are none of those. The one place these magics are known.
 */

export const PCAPNG_SHB = 0x0a0d0d0a
/** pcapng byte-order magic */
export const BOM = 0x1a2b3c4d

/** Header and record-header sizes per pcap magic (read in the file's byte order). */
export function pcapMagic(m: number): { ns: boolean; recordHeader: number } | undefined {
  switch (m) {
    case 0xa1b2c3d4:
      return { ns: false, recordHeader: 16 }
    case 0xa1b23c4d:
      return { ns: true, recordHeader: 16 }
    case 0xa1b2cd34: // "modified" (Kuznetzov) pcap: ifindex, protocol, pkt_type, pad after the usual header
      return { ns: false, recordHeader: 24 }
    default:
      return undefined
  }
}

/** What the first bytes of a file are: a pcap, a pcapng, a gzip stream, or none of those. */
export function isCaptureMagic(firstBytes: Buffer): 'pcap' | 'pcapng' | 'gzip' | undefined {
  if (firstBytes.length >= 2 && firstBytes[0] === 0x1f && firstBytes[1] === 0x8b) return 'gzip'
  if (firstBytes.length < 4) return undefined
  const le = firstBytes.readUInt32LE(0)
  if (le === PCAPNG_SHB) return 'pcapng'
  if (pcapMagic(le) !== undefined || pcapMagic(firstBytes.readUInt32BE(0)) !== undefined) return 'pcap'
  return undefined
}

/** A human description of bytes that are not a capture, for CAPTURE_FORMAT messages. */
export function describeBytes(b: Buffer): string {
  if (b.length === 0) return 'the input is empty'
  const head = b.subarray(0, 16)
  const hex = [...head].map((x) => x.toString(16).padStart(2, '0')).join(' ')
  const ascii = [...head].map((x) => (x >= 0x20 && x < 0x7f ? String.fromCharCode(x) : '.')).join('')
  let guess = ''
  if (head.length >= 4 && head.readUInt32BE(0) === 0x28b52ffd)
    guess = ' (zstd-compressed: decompress it first)'
  else if (head.subarray(0, 3).toString('latin1') === 'BZh')
    guess = ' (bzip2-compressed: decompress it first)'
  else if (head.length >= 6 && head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0])))
    guess = ' (xz-compressed: decompress it first)'
  else if (head.subarray(0, 4).toString('latin1') === 'PK\x03\x04') guess = ' (a zip archive)'
  else if (head.subarray(0, 4).toString('latin1') === 'HEP3')
    guess = ' (raw HEP3 packets, not a capture file)'
  else if (head.every((x) => x === 9 || x === 10 || x === 13 || (x >= 0x20 && x < 0x7f))) guess = ' (text)'
  return `first bytes ${hex} "${ascii}"${guess}`
}
