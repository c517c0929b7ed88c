// hands over two datagrams, then throws (an uncaught error in the thread)
import { parentPort } from 'node:worker_threads'
import { batchOf } from './batch.mjs'
const m = batchOf([Buffer.from('HEP3-first'), Buffer.from('HEP3-second')])
parentPort.postMessage(m, [m.buf])
setTimeout(() => {
  throw new Error('boom in the replay thread')
}, 50)
