// The library's replay() closes the sender it was given when an input fails while the sender is open
// (the CLI used to hang after the error: the sender's socket and reconnect timers kept it alive).
import { describe, expect, it } from 'vitest'
import { createSender } from '../../src/net/sender.js'
import { replay } from '../../src/replay/replay.js'

describe('replay() and a failing input', () => {
  it.each([
    ['a missing file', '/no/such/capture.pcap'],
    ['a directory', '/'],
  ])('%s: rejects, and the sender it was given is closed', async (_name, file) => {
    // a TCP destination nothing listens on: the sender is connecting / backing off meanwhile
    const sender = createSender('tcp://127.0.0.1:1', { reconnectDelay: 50, connectTimeout: 200 })
    let closed = false
    sender.on('close', () => (closed = true))
    sender.on('error', () => {})
    await expect(replay({ files: [file], timing: { mode: { kind: 'topspeed' } } }, sender)).rejects.toThrow()
    expect(closed).toBe(true)
    // a closed sender takes nothing more
    expect(() => sender.send(Buffer.from('HEP3'))).toThrow(/closed/)
  })
})
