/**
 * The capture facts of the packet (record) that delivered some bytes: what a message completed by
 * those bytes is stamped with. Addresses and ports are not in it: they belong to the stream.
 */
export interface Stamp {
  /** record (frame) number, as Wireshark numbers frames */
  readonly frame: number
  /** capture time: seconds since the epoch and nanoseconds within that second */
  readonly seconds: number
  readonly nanos: number
  /** the packet's VLAN id, if it had an 802.1Q tag */
  readonly vlan: number | undefined
}
