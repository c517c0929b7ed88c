import { scanSip, type SipInfo } from '../sip/scan.js'

/** Is this UDP payload a HEP packet? By content: the HEP3 magic, or a plausible v1/v2 header. */
export function looksLikeHep(p: Buffer): boolean {
  if (p.length < 6) return false
  if (p[0] === 0x48)
    return p[1] === 0x45 && p[2] === 0x50 && p[3] === 0x33 && ((p[4] << 8) | p[5]) === p.length
  if (p[0] !== 1 && p[0] !== 2) return false
  // family 2/10, IP protocol TCP/UDP/SCTP, long enough for the header; the header-length byte is
  // not trusted (sngrep writes 1 or 2 instead of 16/40)
  const fam = p[2]
  const proto = p[3]
  if (fam !== 2 && fam !== 10) return false
  if (proto !== 17 && proto !== 6 && proto !== 132) return false
  const need = (fam === 2 ? 16 : 40) + (p[0] === 2 ? 12 : 0)
  return p.length >= need
}

/**
 * What a whole message (UDP payload, WebSocket or SCTP message) is: 'hep', the SIP scan of a SIP
 * message, or undefined for anything else.
 */
export function classifyMessage(p: Buffer): 'hep' | SipInfo | undefined {
  return looksLikeHep(p) ? 'hep' : scanSip(p)
}
