// npm run bench: every benchmark, side by side with its peer in the same run, with the ratios.
import { run as codec } from './codec.js'
import { run as capture } from './capture.js'

const only = process.argv[2]
if (!only || only === 'codec') {
  console.log('== HEP codec: ours vs hep-js 1.0.22 (same packet, same run, best of 5 rounds) ==')
  console.log(codec().join('\n'))
}
if (!only || only === 'capture') {
  console.log('== captures: reader vs plain read; convert vs tshark; peak memory ==')
  console.log((await capture()).join('\n'))
}
if (!only || only === 'net') {
  const { run: net } = await import('./net.js')
  console.log(
    '== network: hep listen vs a plain counting socket; TCP; hep send vs a plain sender (loopback) ==',
  )
  console.log((await net()).join('\n'))
}
if (!only || only === 'replay') {
  const { run: rep } = await import('./replay.js')
  console.log(
    '== replay: timing measured by tcpdump on loopback, against tcpreplay; topspeed; memory; idle CPU ==',
  )
  console.log((await rep()).join('\n'))
}
if (!only || only === 'rtcp') {
  const { run: rtcp } = await import('./rtcp.js')
  console.log(
    '== RTCP: a 90 % RTP capture vs a SIP-only one (convert, same run); SDP reading on the SIP path ==',
  )
  console.log((await rtcp()).join('\n'))
}
