// Milliseconds split into seconds and micro- or nanoseconds, as HEP and pcap times are written.
import { describe, expect, it } from 'vitest'
import { msToMicros, msToNanos } from '../../src/hep/time.js'

describe('msToMicros / msToNanos', () => {
  it('split a wall-clock time into whole seconds and what is past them', () => {
    expect(msToMicros(1_700_000_000_123)).toEqual({ seconds: 1_700_000_000, useconds: 123_000 })
    expect(msToNanos(1_700_000_000_123)).toEqual({ seconds: 1_700_000_000, nanos: 123_000_000 })
    expect(msToMicros(0)).toEqual({ seconds: 0, useconds: 0 })
    expect(msToMicros(999)).toEqual({ seconds: 0, useconds: 999_000 })
    expect(msToMicros(1000)).toEqual({ seconds: 1, useconds: 0 })
  })

  it('fractions of a millisecond: microseconds cut down (never 1,000,000), nanoseconds rounded', () => {
    expect(msToMicros(2_500.0015)).toEqual({ seconds: 2, useconds: 500_001 })
    expect(msToMicros(1_999.9999)).toEqual({ seconds: 1, useconds: 999_999 })
    expect(msToNanos(86_400_123.4567)).toEqual({ seconds: 86_400, nanos: 123_456_700 })
    expect(msToNanos(5.25)).toEqual({ seconds: 0, nanos: 5_250_000 })
  })
})
