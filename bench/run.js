// npm run bench: every benchmark, side by side with its peer in the same run, with the ratios.
// node bench/run.js [codec|capture|net|replay|wait [startup,decode,convert,listen,replay]|live|calls]
// node bench/run.js soak: opt-in, NOT in `npm run bench` (it takes over 10 minutes, and root):
// hep capture's RSS over 10 minutes of sipp calls at 200/s with SDP and RTCP (bench/soak.js).
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
if (!only || only === 'relay') {
  const { run: relay } = await import('./relay.js')
  console.log('== relay: hep listen --to udp:// vs a plain Node UDP-to-UDP forwarder (loopback, same run) ==')
  console.log((await relay()).join('\n'))
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
  const { run: sdp } = await import('./sdp.js')
  console.log('== SDP: the media endpoints of one offer, our scan vs sdp-transform (same run) ==')
  console.log(sdp().join('\n'))
}
if (!only || only === 'wait') {
  const { run: wait } = await import('./wait.js')
  console.log(
    '== where users wait: start-up vs a bare oclif CLI, decode vs hep-js, convert vs tshark, listen vs the hep-js listener, replay vs sngrep ==',
  )
  console.log((await wait(process.argv[3])).join('\n'))
}
if (!only || only === 'calls') {
  const { run: calls } = await import('./calls.js')
  console.log(
    '== calls: hep calls of an 84,000-message capture vs tshark on the same fields; memory on 5× that ==',
  )
  console.log((await calls()).join('\n'))
}
if (!only || only === 'live') {
  const { run: live } = await import('./live.js')
  console.log(
    '== live capture: hep capture vs sngrep (and tcpdump | hep replay -), same sipp traffic on a veth ==',
  )
  console.log((await live()).join('\n'))
}
if (only === 'soak') {
  const { run: soak } = await import('./soak.js')
  console.log(
    '== soak: hep capture RSS over 10 minutes of sipp calls at 200/s with SDP and RTCP (sngrep alongside) ==',
  )
  console.log((await soak()).join('\n'))
}
