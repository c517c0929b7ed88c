// Skip reasons and the tally: counts are kept by the labels summaries print and --json has as keys.
import { describe, expect, it } from 'vitest'
import { countSkip, SKIP_LABELS, skippedFor, tally, tallyAll, type Counts } from '../../src/item/skip.js'

describe('tally', () => {
  it('adds to a count, which is there only once above 0', () => {
    const c: Counts = {}
    tally(c, 'RTP')
    tally(c, 'RTP', 2)
    tally(c, 'keep-alive', 0)
    tally(c, 'DNS', -1)
    expect(c).toEqual({ RTP: 3 })
  })

  it('adds another record in, label by label, in their order', () => {
    const c: Counts = { unreadable: 1 }
    tallyAll(c, { RTP: 4, unreadable: 2, 'TCP retransmission': 1 })
    expect(c).toEqual({ unreadable: 3, RTP: 4, 'TCP retransmission': 1 })
    expect(Object.keys(c)).toEqual(['unreadable', 'RTP', 'TCP retransmission'])
  })
})

describe('skip reasons', () => {
  it('have the labels summaries have always printed', () => {
    expect(SKIP_LABELS).toEqual({
      unreadable: 'unreadable',
      malformed: 'malformed',
      notEncodable: 'not encodable',
      outputFailed: 'output failed',
      filtered: 'filtered out',
      sipInHepCapture: 'SIP (capture carries HEP)',
      rtcpUncorrelated: 'RTCP uncorrelated',
      rtcpMalformed: 'RTCP malformed',
      stopped: 'left by the stop',
    })
  })

  it('are counted and read back by reason, kept by label', () => {
    const c: Counts = {}
    countSkip(c, 'notEncodable')
    countSkip(c, 'notEncodable')
    countSkip(c, 'outputFailed', 5)
    countSkip(c, 'unreadable', 0)
    expect(c).toEqual({ 'not encodable': 2, 'output failed': 5 })
    expect([
      skippedFor(c, 'notEncodable'),
      skippedFor(c, 'outputFailed'),
      skippedFor(c, 'unreadable'),
    ]).toEqual([2, 5, 0])
  })
})
