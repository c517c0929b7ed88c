/** The Call-ID of a SIP message (also the compact form "i:"), for --correlation-id auto. */
import { scanSip } from './scan.js'

export function callIdOf(payload: Buffer): string | undefined {
  return scanSip(payload)?.callId
}
