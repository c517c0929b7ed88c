/**
 * Items of several inputs as one timeline: merged by time (capture time by default), each input's
 * own order kept; one input is passed through as it comes.
 */
import type { HepItem } from './item.js'

/** An item's capture time in seconds (0 when it has none). */
export const captureTime = (it: HepItem): number =>
  it.capture ? it.capture.seconds + it.capture.nanos / 1e9 : 0

/**
 * The items of several inputs as one timeline, merged by `timeOf`. However it ends (the last item,
 * an early stop of the consumer, an input's error), the inputs not yet at their end are closed
 * (their return() called: files, gzip streams and stdin are released).
 */
export async function* mergeByTime(
  sources: AsyncIterable<HepItem[]>[],
  timeOf: (it: HepItem) => number = captureTime,
): AsyncGenerator<HepItem> {
  const its = sources.map((s) => s[Symbol.asyncIterator]())
  /** inputs at their end (or failed): nothing to close */
  const ended = its.map(() => false)
  const heads: { batch: HepItem[]; i: number }[] = []
  const pull = async (k: number): Promise<boolean> => {
    for (;;) {
      let r: IteratorResult<HepItem[]>
      try {
        r = await its[k].next()
      } catch (e) {
        ended[k] = true
        throw e
      }
      if (r.done) {
        ended[k] = true
        return false
      }
      if (r.value.length > 0) {
        heads[k] = { batch: r.value, i: 0 }
        return true
      }
    }
  }
  try {
    const live: number[] = []
    for (let k = 0; k < its.length; k++) if (await pull(k)) live.push(k)
    while (live.length > 0) {
      let best = 0
      for (let j = 1; j < live.length; j++) {
        const a = heads[live[j]]
        const b = heads[live[best]]
        if (timeOf(a.batch[a.i]) < timeOf(b.batch[b.i])) best = j
      }
      const k = live[best]
      const h = heads[k]
      yield h.batch[h.i++]
      if (h.i >= h.batch.length && !(await pull(k))) live.splice(best, 1)
    }
  } finally {
    // (a failure to close is not the caller's business: an error that ended the merge stays the one)
    await Promise.allSettled(its.map((it, k) => (ended[k] ? undefined : it.return?.())))
  }
}

/**
 * The same in arrays of up to 256 items: one input's batches as they are, several merged. An early
 * stop closes the inputs too.
 */
export async function* timeline(
  sources: AsyncIterable<HepItem[]>[],
  timeOf: (it: HepItem) => number = captureTime,
): AsyncGenerator<HepItem[]> {
  if (sources.length === 1) {
    yield* sources[0]
    return
  }
  let chunk: HepItem[] = []
  for await (const it of mergeByTime(sources, timeOf)) {
    chunk.push(it)
    if (chunk.length >= 256) {
      yield chunk
      chunk = []
    }
  }
  if (chunk.length > 0) yield chunk
}
