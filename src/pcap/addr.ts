// Address text <-> bytes lives in one place, shared with the HEP codec.
export { ipv4ToString, ipv6ToString, parseIPv4, parseIPv6, writeIPv4 } from '../hep/ip.js'
