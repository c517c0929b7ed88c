/**
 * Compressed payloads (chunk 0x0010, as captagent and Asterisk send them): the method detected from
 * the first bytes (gzip, zlib, else raw deflate), inflated with Node's zlib, bounded, and only where
 * a payload is looked at (display, filters, correlation, decapsulation): decoding never inflates.
 */
import { deflateRawSync, deflateSync, gzipSync, gunzipSync, inflateRawSync, inflateSync } from 'node:zlib'
import { HepError } from '../errors.js'
import type { HepPacket } from './packet.js'

export const COMPRESSION_METHODS = ['gzip', 'zlib', 'deflate'] as const
export type CompressionMethod = (typeof COMPRESSION_METHODS)[number]

/** An inflated payload bigger than this is not inflated (a HEP packet holds at most 64 KiB). */
export const MAX_INFLATED = 1 << 20

/** gzip (RFC 1952) by its magic, zlib (RFC 1950) by its header check, anything else raw deflate (RFC 1951). */
export function compressionOf(b: Uint8Array): CompressionMethod {
  if (b.length >= 2 && b[0] === 0x1f && b[1] === 0x8b) return 'gzip'
  if (b.length >= 2 && (b[0] & 0x0f) === 8 && b[0] >> 4 <= 7 && ((b[0] << 8) | b[1]) % 31 === 0) return 'zlib'
  return 'deflate'
}

export interface Inflated {
  payload: Buffer
  method: CompressionMethod
}

function tryInflate(b: Buffer, method: CompressionMethod): Buffer | undefined {
  const o = { maxOutputLength: MAX_INFLATED }
  try {
    return method === 'gzip' ? gunzipSync(b, o) : method === 'zlib' ? inflateSync(b, o) : inflateRawSync(b, o)
  } catch {
    return undefined
  }
}

/** The inflated bytes and the method, or undefined when `b` is none of the three (or inflates too big). */
export function inflate(b: Buffer): Inflated | undefined {
  const first = compressionOf(b)
  let r: Inflated | undefined
  const out = tryInflate(b, first)
  if (out !== undefined) r = { payload: out, method: first }
  else if (first !== 'deflate') {
    // a raw deflate stream whose first bytes happen to look like a header
    const raw = tryInflate(b, 'deflate')
    if (raw !== undefined) r = { payload: raw, method: 'deflate' }
  }
  return r
}

/** The packet's payload: chunk 0x000f, else chunk 0x0010 inflated (undefined when neither is there or it does not inflate). */
export function payloadOf(p: HepPacket): Buffer | undefined {
  if (p.payload !== undefined) return p.payload
  if (p.compressedPayload === undefined) return undefined
  return inflate(p.compressedPayload)?.payload
}

/** `b` compressed with `method`. */
export function compress(b: Buffer, method: CompressionMethod): Buffer {
  return method === 'gzip' ? gzipSync(b) : method === 'zlib' ? deflateSync(b) : deflateRawSync(b)
}

/** The packet with its payload moved into chunk 0x0010, compressed (in the chunk order, in place of the payload). */
export function compressPacket(p: HepPacket, method: CompressionMethod): HepPacket {
  if (p.payload === undefined) return p
  if (p.version !== 3)
    throw new HepError(
      'HEP_ENCODE',
      `--compress needs HEP version 3 (v${p.version} has no compressed payload chunk)`,
    )
  const q: HepPacket = { ...p, compressedPayload: compress(p.payload, method), payload: undefined }
  if (p.chunks !== undefined)
    q.chunks = p.chunks.includes(0x0010)
      ? p.chunks.filter((c) => c !== 0x000f)
      : p.chunks.map((c) => (c === 0x000f ? 0x0010 : c))
  return q
}
