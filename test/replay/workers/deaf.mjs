// hands over three datagrams, then neither ends nor answers a stop (keeps its thread busy-ish)
import { parentPort } from 'node:worker_threads'
import { batchOf } from './batch.mjs'
const m = batchOf([Buffer.from('HEP3-a'), Buffer.from('HEP3-b'), Buffer.from('HEP3-c')])
parentPort.postMessage(m, [m.buf])
parentPort.on('message', () => {})
setInterval(() => {}, 1000)
