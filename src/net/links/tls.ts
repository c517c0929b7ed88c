/** The TLS options of a tls:// or wss:// destination: verification, CA, client certificate, SNI name. */
import type { ConnectionOptions } from 'node:tls'
import { isIP } from 'node:net'
import type { Destination } from '../address.js'
import { loadPem, loadPemList } from '../pem.js'
import type { SenderOptions } from '../sender-types.js'

export function tlsOptions(d: Destination, o: SenderOptions): ConnectionOptions {
  const servername = o.servername ?? (isIP(d.host) === 0 ? d.host : undefined)
  return {
    rejectUnauthorized: o.rejectUnauthorized ?? true,
    ...(o.ca !== undefined ? { ca: loadPemList(o.ca, 'CA') } : {}),
    ...(o.cert !== undefined ? { cert: loadPem(o.cert, 'certificate') } : {}),
    ...(o.key !== undefined ? { key: loadPem(o.key, 'key') } : {}),
    ...(servername !== undefined ? { servername } : {}),
  }
}
