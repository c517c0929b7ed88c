// hands over one datagram, then the thread ends without its statistics
import { parentPort } from 'node:worker_threads'
import { batchOf } from './batch.mjs'
const m = batchOf([Buffer.from('HEP3-only')])
parentPort.postMessage(m, [m.buf])
setTimeout(() => process.exit(3), 50)
