/**
 * The codec's two generated functions, each kept because a benchmark shows it beats its typed
 * reference by at least 1.3x on a path users run, and each proven identical to it by a property test.
 *
 * First, the HEP3 encoder for packets without a chunk list (every
 * packet a sender builds: send, replay, convert of captures). It is made from the chunk table as one
 * function with a static property access and an inlined writer per field, which a typed loop over the
 * table cannot match: a loop reads every field through a megamorphic accessor call, and measures about
 * 2x slower (bench/codec.js runs both on the same packet in one run). test/hep/property.test.ts
 * proves the output identical to the typed encoder's (v3.ts encodeCanonicalTyped) on arbitrary packets.
 *
 * Second, the writer of a JSON line's scalar fields (listen --json, decode --json): see below.
 *
 * HEP_DEBUG=codegen prints the generated source on stderr when it is made.
 */
import { HepError } from '../errors.js'
import { CANONICAL_ORDER } from './canonical-order.js'
import { CHUNK_BY_ID, type ChunkDef } from './chunks.js'
import { ipv4Number, parseIPv6Text as parseIPv6, type Ipv4Bits } from './ip.js'
import { SCALAR_DEFS } from './json-fields.js'
import { writeMac } from './mac.js'
import type { HepPacket } from './packet.js'

export type CanonicalEncoder = (
  p: HepPacket,
  target: Buffer | undefined,
  offset: number,
  /** an encoding session's parsed IPv4 texts (EncodeOptions.addressBits) */
  bits?: Ipv4Bits,
) => { buffer: Buffer; length: number }

/** where an IPv4 text is parsed when no session keeps them (used and read at once) */
const ip4Scratch = new Uint8Array(4)

const helpers = {
  /** the 32 bits of an IPv4 text (as a non-negative number), or -1 if it is none (writeIPv4) */
  ip4(s: string, bits: Ipv4Bits | undefined): number {
    return bits === undefined ? ipv4Number(s, ip4Scratch) : bits.of(s)
  },
  parseIPv6,
  writeMac,
  Buffer,
  fail(field: string, v: unknown, what: string): never {
    throw new HepError('HEP_ENCODE', `${field}: ${JSON.stringify(v)} is not ${what}`)
  },
  tooLong(field: string | null, n: number): never {
    if (field === null)
      throw new HepError('HEP_TOO_LONG', `HEP3 packet would be ${n} bytes; the format allows at most 65535`)
    throw new HepError('HEP_TOO_LONG', `${field}: ${n} bytes do not fit in a HEP3 chunk (at most 65529)`)
  },
  small(have: number, offset: number, need: number): never {
    throw new HepError(
      'HEP_ENCODE',
      `target buffer has ${have} bytes from offset ${offset}, packet needs ${need}`,
    )
  },
}

const header = (id: string | number, len: string): string =>
  `buf[pos]=0;buf[pos+1]=0;buf[pos+2]=(${id})>>8;buf[pos+3]=(${id})&255;buf[pos+4]=(${len})>>8;buf[pos+5]=(${len})&255;`

/**
 * Source of a field's two blocks, inlined in the encoder's body (no call per field: V8 inlines only
 * so much, and the calls it left cost about a third of an encode). `size` reads the field into v{i}
 * and sets n{i} (value bytes, -1 absent); `write` writes the chunk at pos (only when n{i} >= 0).
 */
function fieldSource(d: ChunkDef, i: number): { size: string; write: string } {
  const field = d.field
  const F = JSON.stringify(field)
  const v = `v${i}`
  const n = `n${i}`
  const read = `const ${v}=p.${field};let ${n}=-1;`
  const int = (max: number, store: string) => ({
    size: `${read}if(${v}!==undefined)${n}=${d.width};`,
    write:
      `if(typeof ${v}!=='number'||!(${v}>=0&&${v}<=${max})||Math.floor(${v})!==${v})h.fail(${F},${v},'an integer from 0 to ${max}');` +
      `${store}${header(d.id, String(d.width + 6))}`,
  })
  switch (d.kind) {
    case 'u8':
      return int(0xff, `buf[pos+6]=${v};`)
    case 'u16':
      return int(0xffff, `buf[pos+6]=${v}>>8;buf[pos+7]=${v}&255;`)
    case 'u32':
      return int(
        0xffffffff,
        `buf[pos+6]=${v}>>>24;buf[pos+7]=(${v}>>>16)&255;buf[pos+8]=(${v}>>>8)&255;buf[pos+9]=${v}&255;`,
      )
    case 'u64':
      return {
        size: `${read}if(${v}!==undefined)${n}=8;`,
        write: `if(!h.writeMac(String(${v}),buf,pos+6))h.fail(${F},${v},'a MAC (6 or 8 hex bytes)');${header(d.id, '14')}`,
      }
    case 'inet4':
    case 'inet6':
      // an IPv4 text's 32 bits (h.ip4: -1 when it is none) found in the size pass, written after;
      // only a text that is none is looked at for a ':' (an IPv6 address)
      return {
        size:
          `${read}let a${i}=-1;if(${v}!==undefined){if(typeof ${v}!=='string')h.fail(${F},${v},'an IP address');` +
          `a${i}=h.ip4(${v},bits);${n}=a${i}<0&&${v}.includes(':')?16:4;}`,
        write:
          `if(${n}===16){const a=h.parseIPv6(${v});if(a===undefined)h.fail(${F},${v},'an IPv6 address');` +
          `buf.set(a,pos+6);${header(d.id6, '22')}}else{const a=a${i};if(a<0)h.fail(${F},${v},'an IPv4 address');` +
          `buf[pos+6]=a>>>24;buf[pos+7]=(a>>>16)&255;buf[pos+8]=(a>>>8)&255;buf[pos+9]=a&255;${header(d.id4, '10')}}`,
      }
    default:
      return {
        size:
          `${read}if(${v}!==undefined){if(typeof ${v}==='string')${n}=h.Buffer.byteLength(${v},'utf8');` +
          `else if(${v} instanceof Uint8Array)${n}=${v}.length;else h.fail(${F},${v},'${d.kind === 'text' ? 'text' : 'bytes'}');}`,
        write:
          `let k;if(typeof ${v}==='string')k=buf.write(${v},pos+6,'utf8');else{buf.set(${v},pos+6);k=${v}.length;}` +
          `${header(d.id, 'k+6')}pos+=k+6;`,
      }
  }
}

const writesText = (d: ChunkDef): boolean => d.kind === 'text' || d.kind === 'bytes'

/** The encoder's source: every field's size block, then every field's write block, in canonical order. */
export function canonicalEncoderSource(): string {
  const defs = CANONICAL_ORDER.map((id) => CHUNK_BY_ID[id]!).filter(
    (d, i, all) => all.findIndex((x) => x.slot === d.slot) === i,
  )
  const fields = defs.map((d, i) => fieldSource(d, i))
  const body: string[] = ['let t=6;']
  defs.forEach((d, i) =>
    body.push(
      fields[i].size +
        (writesText(d)
          ? `if(n${i}>=0){t+=n${i}+6;if(n${i}>65529)h.tooLong(${JSON.stringify(d.field)},n${i});}`
          : `if(n${i}>=0)t+=n${i}+6;`),
    ),
  )
  body.push('if(t>65535)h.tooLong(null,t);')
  body.push(
    'let buf=target;if(buf===undefined){buf=h.Buffer.allocUnsafe(t);offset=0;}else if(buf.length-offset<t)h.small(buf.length-offset,offset,t);',
  )
  body.push(
    'buf[offset]=0x48;buf[offset+1]=0x45;buf[offset+2]=0x50;buf[offset+3]=0x33;buf[offset+4]=t>>8;buf[offset+5]=t&255;',
  )
  body.push('let pos=offset+6;')
  // (a text or bytes block moves pos by what it wrote, the others by their size)
  defs.forEach((d, i) => body.push(`if(n${i}>=0){${fields[i].write}${writesText(d) ? '' : `pos+=n${i}+6;`}}`))
  body.push('return {buffer:buf,length:t};')
  return `return function encodeCanonical(p,target,offset,bits){\n${body.join('\n')}\n}`
}

/** The generated canonical encoder (see the module comment). */
export const encodeCanonicalGenerated: CanonicalEncoder = (() => {
  const src = canonicalEncoderSource()
  if (/\bcodegen\b/.test(process.env.HEP_DEBUG ?? ''))
    process.stderr.write(`// hep codegen: src/hep/codegen.ts\n${src}\n`)
  return new Function('h', src)(helpers) as CanonicalEncoder
})()

// ---------------------------------------------------------------- JSON lines

/** What the generated scalar writer calls (json-bytes.ts's number and string writers). */
export interface ScalarHelpers {
  num(b: Buffer, o: number, v: number): number
  str(b: Buffer, o: number, s: string): number
  strRoom(s: string): number
}

/** Where the bytes go (json-bytes.ts ByteOut). */
interface Out {
  buf: Buffer
  pos: number
  room(n: number): void
}

export type ScalarWriter = (p: HepPacket, w: Out) => void

/**
 * The source of the scalar fields' writer of a JSON line: one straight-line block per field, in
 * SCALAR_ORDER, with the key stored byte by byte. The typed loop over the same fields (json-bytes.ts
 * writeScalarsTyped, its reference) measures 2.2x slower on the scalars (bench/codec.js prints both),
 * 1.3x on a whole JSON line, and cost `listen --tcp --json` about 8 % of its CPU per frame.
 */
export function scalarWriterSource(): string {
  return (
    'let b=w.buf;let o=w.pos;let v;' +
    SCALAR_DEFS.map((d) => {
      const key = Buffer.from(`,"${d.field}":`, 'latin1')
      const stores = [...key].map((c, i) => `b[o+${i}]=${c};`).join('') + `o+=${key.length};`
      return (
        `v=p.${d.field};if(v!==undefined){` +
        `const need=typeof v==="number"?64:h.strRoom(v);` +
        `if(o+need>b.length){w.pos=o;w.room(need);b=w.buf;o=w.pos;}` +
        stores +
        `o=typeof v==="number"?h.num(b,o,v):h.str(b,o,v);}`
      )
    }).join('') +
    'w.pos=o;'
  )
}

/** The generated scalar writer, bound to the helpers it calls. */
export function scalarWriterGenerated(h: ScalarHelpers): ScalarWriter {
  const src = scalarWriterSource()
  if (/\bcodegen\b/.test(process.env.HEP_DEBUG ?? ''))
    process.stderr.write(`// hep codegen: src/hep/codegen.ts (JSON scalars)\n${src}\n`)
  const make = new Function('h', `return function writeScalars(p,w){${src}}`) as (
    h: ScalarHelpers,
  ) => ScalarWriter
  return make(h)
}
