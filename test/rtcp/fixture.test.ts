/**
 * fixtures/captures/sip-rtcp.pcap (README and --help examples) is exactly what callFrames() builds:
 * its provenance is this code. HEP_REGEN_FIXTURES=1 writes it anew.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { callFrames, pcapOf, writePcap } from '../helpers/rtcp.js'

const FIXTURE = join(import.meta.dirname, '../../fixtures/captures/sip-rtcp.pcap')

describe('fixtures/captures/sip-rtcp.pcap', () => {
  it('is the call callFrames() builds', () => {
    if (process.env.HEP_REGEN_FIXTURES === '1' || !existsSync(FIXTURE)) writePcap(FIXTURE, callFrames())
    expect(readFileSync(FIXTURE).equals(pcapOf(callFrames()))).toBe(true)
  })
})
