/**
 * File descriptors: a process-wide resource, of which each HepServer keeps a budget (its own, unless
 * given one). Node (libuv) meets EMFILE on accept by accepting and closing the pending connections with a reserve descriptor, silently: no event, no count. So the listeners do not
 * wait for EMFILE: they count the sockets they hold, and on Linux compare that, plus what else the
 * process holds (counted in /proc/self/fd when near the limit), with the soft limit (`ulimit -n`, from
 * /proc/self/limits), keeping a reserve free. At that point a new connection is admitted only by
 * evicting another (see HepServer), and the shortage is reported once.
 */
import { readdirSync, readFileSync } from 'node:fs'
import { performance } from 'node:perf_hooks'

/** Descriptors kept free for everything else (files, DNS, the directory read that counts them). */
export const FD_RESERVE = 16

/** The soft limit on open files, from /proc/self/limits (Linux); undefined when unknown or unlimited. */
export function readFdLimit(): number | undefined {
  try {
    const text = readFileSync('/proc/self/limits', 'utf8')
    const m = /^Max open files\s+(\d+|unlimited)\s/m.exec(text)
    if (m === null || m[1] === 'unlimited') return undefined
    return Number(m[1])
  } catch {
    return undefined
  }
}

export class DescriptorBudget {
  /** the soft limit; undefined: unknown, no checks */
  limit: number | undefined
  /** sockets the listeners hold now */
  private sockets = 0
  /** descriptors in use other than those sockets, as last counted */
  private others = 0
  private countedAt = -Infinity

  constructor(limit: number | undefined = readFdLimit()) {
    this.limit = limit
  }

  opened(): void {
    this.sockets++
  }

  closed(): void {
    if (this.sockets > 0) this.sockets--
  }

  /** descriptors in use, as estimated */
  get inUse(): number {
    return this.others + this.sockets
  }

  /** Fewer than FD_RESERVE descriptors are left (near it, checked against a fresh count every 100 ms at most). */
  exhausted(): boolean {
    const limit = this.limit
    if (limit === undefined) return false
    // what else the process holds changes too: counted afresh every 5 s at most
    if (performance.now() - this.countedAt >= 5000) this.count()
    if (this.inUse + 4 * FD_RESERVE < limit) return false
    if (performance.now() - this.countedAt >= 100) this.count()
    return this.inUse + FD_RESERVE >= limit
  }

  /** Counts the descriptors in use now (/proc/self/fd). */
  count(): void {
    if (this.limit === undefined) return
    this.countedAt = performance.now()
    try {
      // the listing includes the descriptor of the directory being read
      const n = readdirSync('/proc/self/fd').length - 1
      this.others = Math.max(0, n - this.sockets)
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code
      if (code === 'EMFILE' || code === 'ENFILE') this.others = Math.max(0, this.limit - this.sockets)
      else this.limit = undefined // no /proc: no checks
    }
  }
}
