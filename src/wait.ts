/** Waits that a stop (an AbortSignal) ends early: replay's scheduler and sender waits, live capture's. */

/** Waits `ms`, or less when `signal` aborts (at once when it has). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve()
    const t = setTimeout(done, ms)
    function done() {
      clearTimeout(t)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/**
 * Resolves when `p` resolves or `signal` aborts, whichever comes first; rejects when `p` rejects
 * first. Without a signal, `p` itself.
 */
export function untilAborted(p: Promise<unknown>, signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return p.then(() => {})
  if (signal.aborted) return Promise.resolve()
  return new Promise<void>((resolve, reject) => {
    const done = (): void => {
      signal.removeEventListener('abort', done)
      resolve()
    }
    signal.addEventListener('abort', done, { once: true })
    p.then(done, (e: unknown) => {
      signal.removeEventListener('abort', done)
      reject(e)
    })
  })
}
