/**
 * `hep capture` as a library call: capture engines (engine.ts) run as child processes, their capture
 * streamed through the capture reader and extractor (SIP over UDP, TCP, SCTP, fragments, tunnels)
 * into the item pipeline replay uses (ItemEncoder: the HEP encoding options), and sent the moment
 * each message is complete. An engine that stops by itself (an interface gone down) is started again
 * and reported; the sender's queue and reconnects ride out destination outages. Returns statistics;
 * prints nothing.
 */
import { performance } from 'node:perf_hooks'
import { CaptureItems } from '../capture/items.js'
import { warmUp } from '../capture/warm.js'
import type { HepError } from '../errors.js'
import type { HepEncodingOptions } from '../hep/encoding-options.js'
import { ItemEncoder } from '../item/encode.js'
import type { PacketFilter } from '../filter/filter.js'
import type { HepPacket } from '../hep/packet.js'
import type { RtcpMode } from '../rtcp/correlate.js'
import type { HepItem } from '../item/item.js'
import { tallyAll, type Counts } from '../item/skip.js'
import type { HepSender } from '../net/sender-types.js'
import { closeOrStop } from '../send/send.js'
import { CaptureSetupError, engineArgs, engineFailure, enginesToTry, parseEngineDrops } from './engine.js'
import type { Engine, EngineChoice, EngineName } from './engine.js'
import { PcapngOut } from './pcapng-out.js'
import { EngineProcess } from './process.js'
import { sleep, untilAborted } from '../wait.js'

export interface LiveCaptureOptions extends HepEncodingOptions {
  /** interfaces to capture on (`any`: all) */
  interfaces: string[]
  /** the BPF filter (bpf.ts buildFilter) */
  filter: string
  engine?: EngineChoice
  /** PATH the engines are looked up in (default process.env.PATH) */
  pathEnv?: string
  /** kernel capture buffer, MiB (default 64) */
  bufferMiB?: number
  /** bytes kept of each packet (default engine.ts DEFAULT_SNAPLEN) */
  snaplen?: number
  portRanges?: [number, number][]
  /** RTCP as HEP type 5: of the captured calls (default 'correlated'), 'all', or 'off' (--rtcp) */
  rtcp?: RtcpMode
  /** only the messages that pass (filter/filter.ts); the rest counted as 'filtered out' */
  packetFilter?: PacketFilter
  /** the sender balances by call: give it each message's Call-ID */
  needCallId?: boolean
  /**
   * the sender was made with onFull 'drop': the capture never waits for room in its queue (a full
   * queue drops and counts); otherwise it waits, holding the engines (the kernel then drops what it
   * cannot buffer, counted as kernel drops)
   */
  senderDrops?: boolean
  /** stop after this many messages sent */
  count?: number
  /** stop after this many ms */
  durationMs?: number
  /** also write what was captured to this pcapng file */
  write?: string
  signal?: AbortSignal
  /** ms the sender may still flush after a stop by `signal` (default 400) */
  stopFlushMs?: number
  /** first wait before an engine that stopped is started again (default 1000; doubles up to 10 s) */
  restartDelayMs?: number
  onEvent?: (e: LiveEvent) => void
  onSkip?: (where: string, reason: string, error?: HepError) => void
  /** called for each packet handed to the sender */
  onPacket?: (it: HepItem, bytes: Buffer) => void
}

export type LiveEvent =
  | { kind: 'started'; engine: EngineName; interfaces: string[]; again: boolean }
  | { kind: 'stopped'; engine: EngineName; interfaces: string[]; reason: string; retryInMs: number }
  | { kind: 'fallback'; from: EngineName; to: EngineName; reason: string }

export interface LiveStats {
  engine: EngineName | undefined
  /** frames the engines delivered */
  captured: number
  /**
   * SIP messages found that passed the filters (complete ones: over TCP, a message of several
   * segments is one). sip + rtcp = packets + those not encodable; sent + failed + dropped = packets.
   */
  sip: number
  /** RTCP reports made into HEP (type 5) that passed the filters */
  rtcp: number
  /** SIP messages and RTCP reports found but left out by the filters (--method, --call-id…) */
  filtered: number
  /** RTCP packets found (made into HEP, or skipped: of no captured call, malformed) */
  rtcpFound: number
  /** messages handed to the sender */
  packets: number
  sent: number
  failed: number
  dropped: number
  /** messages not sent by reason (filters, not encodable), and frames that held no message */
  skipped: Counts
  /** packets the kernel (or interface) dropped, as the engines reported them when they stopped */
  kernelDrops: number
  /** packets the engine itself dropped */
  engineDrops: number
  /** times an engine stopped by itself and was started again (attempts that failed not counted) */
  restarts: number
  /** --write: records written, and left out because the file took nothing (bounded buffer) */
  written?: number
  writeDropped?: number
  elapsedMs: number
}

interface Slot {
  interfaces: string[]
  args: string[]
  proc?: EngineProcess
  items?: CaptureItems
}

export class LiveCapture {
  private readonly halt = new AbortController()
  private readonly encoder: ItemEncoder
  private readonly filter: PacketFilter | undefined
  private readonly needSip: boolean
  private engine: Engine | undefined
  private slots: Slot[] = []
  private out: PcapngOut | undefined
  private readonly t0 = performance.now()
  private captured = 0
  private frameSkips: Counts = {}
  private sip = 0
  private rtcp = 0
  private rtcpFound = 0
  private filtered = 0
  private packets = 0
  private kernelDrops = 0
  private engineDrops = 0
  private restarts = 0

  constructor(
    private readonly opts: LiveCaptureOptions,
    private readonly sender: HepSender,
  ) {
    this.encoder = new ItemEncoder(opts)
    this.filter = opts.packetFilter?.empty === false ? opts.packetFilter : undefined
    this.needSip = this.filter?.needsSip === true || opts.correlationId === 'auto' || opts.needCallId === true
    const stop = () => this.halt.abort()
    if (opts.signal?.aborted) stop()
    else opts.signal?.addEventListener('abort', stop, { once: true })
  }

  /** Stop capturing (what is already captured is still sent). */
  stop(): void {
    this.halt.abort()
  }

  /** The counts so far (the periodic stats). */
  stats(): LiveStats {
    let captured = this.captured
    let rtcpFound = this.rtcpFound
    for (const s of this.slots) {
      captured += s.items?.stats.records ?? 0
      rtcpFound += s.items?.rtcpCounts?.found ?? 0
    }
    const skipped: Counts = { ...this.encoder.skipped }
    tallyAll(skipped, this.frameSkips)
    for (const s of this.slots) if (s.items) tallyAll(skipped, s.items.stats.skipped)
    // frames the reader leaves out by --port-range (its label is every filter's): not messages
    const outside = skipped['filtered out']
    if (outside !== undefined) {
      delete skipped['filtered out']
      skipped['frames outside the port ranges'] = outside
    }
    const st = this.sender.stats()
    return {
      engine: this.engine?.name,
      captured,
      sip: this.sip,
      rtcp: this.rtcp,
      filtered: this.filtered,
      rtcpFound,
      packets: this.packets,
      sent: st.sent,
      failed: st.failed,
      dropped: st.dropped,
      skipped,
      kernelDrops: this.kernelDrops,
      engineDrops: this.engineDrops,
      restarts: this.restarts,
      written: this.out?.records,
      writeDropped: this.out?.dropped,
      elapsedMs: performance.now() - this.t0,
    }
  }

  /** Captures until stopped (signal, --count, --duration); the final statistics. */
  async run(): Promise<LiveStats> {
    let timer: NodeJS.Timeout | undefined
    let deadline = false
    // a stop (Ctrl-C, --duration) ends the engines whatever is being waited for, their start too
    const stopEngines = () => void this.stopAll()
    this.halt.signal.addEventListener('abort', stopEngines, { once: true })
    try {
      // the pipeline warmed while the engines start (tcpdump writes pcap, dumpcap pcapng)
      const o = this.opts
      const format = o.engine === 'dumpcap' ? 'pcapng' : 'pcap'
      const warm = warmUp({ ...o, format, sipDetails: this.needSip, rtcp: o.rtcp })
      await this.start()
      await warm
      if (this.opts.durationMs !== undefined)
        timer = setTimeout(() => {
          deadline = true
          this.stop()
        }, this.opts.durationMs)
      // connecting goes on beside the capture, never before it: while a destination is slow to
      // answer or away, what is captured waits in the sender's bounded queue (dropped and counted
      // once it is full), the engines are read on (not blocked, their kernel buffer not filling)
      // and a stop is acted on at once
      this.sender.connect().catch(() => {})
      await Promise.all(this.slots.map((s) => this.keepRunning(s)))
    } catch (e) {
      await this.stopAll()
      await this.sender.close({ timeout: 0 }).catch(() => {})
      await this.out?.close().catch(() => {})
      throw e
    } finally {
      if (timer) clearTimeout(timer)
      this.halt.signal.removeEventListener('abort', stopEngines)
    }
    await this.out?.close()
    const flush = this.opts.stopFlushMs ?? 400
    // --duration is a deadline, as a signal is: a destination that is down gets the short flush
    const signalled = this.opts.signal?.aborted === true || deadline
    const s = await closeOrStop(
      this.sender.close(signalled ? { timeout: flush } : {}),
      this.sender,
      this.opts.signal,
      flush,
    )
    return { ...this.stats(), sent: s.sent, failed: s.failed, dropped: s.dropped }
  }

  /** The first engine that can capture: a later one when the first may not (permission). */
  private async start(): Promise<void> {
    const engines = enginesToTry(this.opts.engine ?? 'auto', this.opts.pathEnv)
    for (let k = 0; k < engines.length; k++) {
      if (this.halt.signal.aborted) return
      const engine = engines[k]
      this.engine = engine
      const lists = engineArgs(engine.name, {
        interfaces: this.opts.interfaces,
        filter: this.opts.filter,
        bufferMiB: this.opts.bufferMiB ?? 64,
        snaplen: this.opts.snaplen,
      })
      this.slots = lists.map((args, i) => ({
        args,
        interfaces: engine.name === 'dumpcap' ? this.opts.interfaces : [this.opts.interfaces[i]],
      }))
      if (this.opts.write !== undefined && !this.out) this.out = new PcapngOut(this.opts.write)
      const failures = await Promise.all(this.slots.map((s) => this.launch(s)))
      const failed = failures.find((f) => f !== undefined)
      if (!failed) {
        this.opts.onEvent?.({
          kind: 'started',
          engine: engine.name,
          interfaces: this.opts.interfaces,
          again: false,
        })
        return
      }
      await this.stopAll()
      // stopped while the engines started: no failure of theirs
      if (this.halt.signal.aborted) return
      if (failed.kind === 'permission' && k + 1 < engines.length) {
        this.opts.onEvent?.({
          kind: 'fallback',
          from: engine.name,
          to: engines[k + 1].name,
          reason: failed.said,
        })
        continue
      }
      throw failed
    }
  }

  /** Starts the slot's engine process; the failure when it ends before capturing. */
  private async launch(slot: Slot): Promise<CaptureSetupError | undefined> {
    const engine = this.engine as Engine
    const proc = new EngineProcess(engine, slot.args, slot.interfaces)
    slot.proc = proc
    if (this.out) proc.onChunk = this.out.feed((id) => slot.interfaces[id] ?? slot.interfaces[0])
    if (await proc.ready) {
      slot.items = new CaptureItems(proc.output, `${engine.name} on ${slot.interfaces.join(',')}`, {
        mode: 'sip',
        portRanges: this.opts.portRanges,
        captureId: this.opts.captureId ?? 1,
        rtcp: this.opts.rtcp,
        extract: { sipDetails: this.needSip },
      })
      return undefined
    }
    await proc.exited
    return engineFailure(engine, proc.stderr, proc.exitCode, slot.interfaces)
  }

  /** Consumes the slot's capture; when its engine stops by itself, starts it again (until stopped). */
  private async keepRunning(slot: Slot): Promise<void> {
    let delay = this.opts.restartDelayMs ?? 1000
    for (;;) {
      if (slot.items) await this.consume(slot)
      const proc = slot.proc as EngineProcess
      await proc.exited
      // a Ctrl-C on a terminal reaches the engines (our process group) as it reaches us: an engine
      // that ended just before our own stop came is not taken for one that failed
      await sleep(150, this.halt.signal)
      const why = engineFailure(proc.engine, proc.stderr, proc.exitCode, slot.interfaces).message
      this.settle(slot)
      if (this.halt.signal.aborted) return
      this.opts.onEvent?.({
        kind: 'stopped',
        engine: proc.engine.name,
        interfaces: slot.interfaces,
        reason: why,
        retryInMs: delay,
      })
      for (;;) {
        await sleep(delay, this.halt.signal)
        if (this.halt.signal.aborted) return
        delay = Math.min(delay * 2, 10_000)
        const failure = await this.launch(slot)
        if (!failure) {
          this.restarts++
          delay = this.opts.restartDelayMs ?? 1000
          this.opts.onEvent?.({
            kind: 'started',
            engine: proc.engine.name,
            interfaces: slot.interfaces,
            again: true,
          })
          break
        }
        this.settle(slot)
        if (this.halt.signal.aborted) return
      }
    }
  }

  /** A finished engine run's counts folded into the totals. */
  private settle(slot: Slot): void {
    const items = slot.items
    slot.items = undefined
    if (items) {
      this.captured += items.stats.records
      this.rtcpFound += items.rtcpCounts?.found ?? 0
      tallyAll(this.frameSkips, items.stats.skipped)
    }
    const proc = slot.proc
    if (!proc) return
    const drops = parseEngineDrops(proc.stderr)
    const isb = items?.extractor.info?.interfaceStats
    if (isb?.length) for (const s of isb) this.kernelDrops += (s.ifDropped ?? 0) + (s.osDropped ?? 0)
    else this.kernelDrops += drops?.kernel ?? 0
    this.engineDrops += drops?.engine ?? 0
    proc.stderr = ''
  }

  private async consume(slot: Slot): Promise<void> {
    const items = slot.items as CaptureItems
    const o = this.opts
    const enc = this.encoder
    const stopOnHalt = () => void this.stopAll()
    this.halt.signal.addEventListener('abort', stopOnHalt, { once: true })
    if (this.halt.signal.aborted) stopOnHalt()
    try {
      for await (const batch of items.batches())
        for (const it of batch) {
          // --count reached: what the pipe still held came after the stop
          if (o.count !== undefined && this.packets >= o.count) break
          if (!enc.readable(it)) continue
          // counted once each: left out by the filters, or SIP or RTCP handed on (counts add up)
          if (this.filter && !this.filter.matches(it.packet as HepPacket, it.sip)) {
            this.filtered++
            continue
          }
          if (it.packet?.payloadType === 5) this.rtcp++
          else this.sip++
          if (!enc.encode(it)) continue
          const bytes = enc.bytes
          const full = !this.sender.send(bytes, it.sip?.callId ?? enc.packet.correlationId)
          this.packets++
          o.onPacket?.(it, bytes)
          if (o.count !== undefined && this.packets >= o.count) this.stop()
          if (full && !o.senderDrops && !this.halt.signal.aborted)
            // (a sender that closes while waited for is the stop's business, not an error here)
            await untilAborted(
              this.sender.ready().catch(() => {}),
              this.halt.signal,
            )
        }
    } finally {
      this.halt.signal.removeEventListener('abort', stopOnHalt)
    }
  }

  private async stopAll(): Promise<void> {
    await Promise.all(this.slots.map((s) => s.proc?.stop()))
  }
}
