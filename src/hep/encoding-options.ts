/** The HEP encoding options shared by send, replay and convert, applied to a packet. */
import { HepError } from '../errors.js'
import { compressPacket, payloadOf, type CompressionMethod } from './compress.js'
import { reportLosses, type EncodingLoss } from './lossy.js'
import type { HepPacket } from './packet.js'

export interface HepEncodingOptions {
  version?: 1 | 2 | 3
  captureId?: number
  nodeName?: string
  authKey?: string
  /** 'auto': the SIP Call-ID of the payload; 'none': drop it; anything else: that value */
  correlationId?: string
  /** move the payload into chunk 0x0010, compressed this way (HEP v3 only) */
  compress?: CompressionMethod
  /**
   * told what each packet loses when it is encoded as v1 or v2 (chunks those versions cannot carry,
   * a payload type they cannot say); see oncePerKind in lossy.ts
   */
  onLoss?: (loss: EncodingLoss) => void
}

/** Checks option values once, before any packet (e.g. a v2 capture id must fit 16 bits). */
export function checkEncodingOptions(o: HepEncodingOptions): void {
  if (o.compress !== undefined && (o.version === 1 || o.version === 2))
    throw new HepError(
      'HEP_ENCODE',
      `--compress needs HEP version 3 (v${o.version} has no compressed payload chunk)`,
    )
  if (o.captureId !== undefined) {
    if (!Number.isInteger(o.captureId) || o.captureId < 0 || o.captureId > 0xffffffff) {
      throw new HepError(
        'HEP_ENCODE',
        `--capture-id ${o.captureId}: expected an integer from 0 to 4294967295`,
      )
    }
    if (o.version === 2 && o.captureId > 0xffff) {
      throw new HepError(
        'HEP_ENCODE',
        `--capture-id ${o.captureId}: HEPv2 holds 16 bits (at most 65535); use --version 3`,
      )
    }
  }
}

/**
 * A new packet with the options applied. `callIdOf` finds the Call-ID for `correlationId: 'auto'`.
 * Changing the version drops what belonged to the old version's layout (v1/v2 header quirks).
 */
export function applyEncodingOptions(
  p: HepPacket,
  o: HepEncodingOptions,
  callIdOf?: (payload: Buffer) => string | undefined,
): HepPacket {
  let q: HepPacket = { ...p }
  if (o.captureId !== undefined) q.captureId = o.captureId
  if (o.nodeName !== undefined) q.nodeName = o.nodeName
  if (o.authKey !== undefined) q.authKey = o.authKey
  if (o.correlationId === 'none') q.correlationId = undefined
  else if (o.correlationId === 'auto') {
    const payload = payloadOf(q)
    const id = payload && callIdOf ? callIdOf(payload) : undefined
    if (id !== undefined) q.correlationId = id
  } else if (o.correlationId !== undefined) q.correlationId = o.correlationId
  const version = o.version ?? p.version
  // what v1/v2 cannot carry, told before the chunk list that names vendor chunks is dropped
  if (o.onLoss !== undefined && version !== 3) reportLosses(q, version, o.onLoss)
  if (version !== p.version) {
    // (assigning undefined, not `delete`, keeps the object fast: encoders skip undefined fields)
    q.version = version
    q.hdrLen = undefined
    q.v2Padding = undefined
    if (version !== 3) q.chunks = undefined
  }
  if (o.compress !== undefined) q = compressPacket(q, o.compress)
  return q
}
