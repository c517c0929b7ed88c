// npm run bench: every benchmark, side by side with its peer in the same run, with the ratios.
import { run as codec } from './codec.js'

console.log('== HEP codec: ours vs hep-js 1.0.22 (same packet, same run, best of 5 rounds) ==')
console.log(codec().join('\n'))
