/**
 * Certificates and keys given as a file path, PEM text or bytes. A file that cannot be read is a
 * NetError naming the file.
 */
import { readFileSync } from 'node:fs'
import { createSecureContext } from 'node:tls'
import { describeError, errorCode, NetError } from './errors.js'

const FILE_ERRORS: Record<string, string> = {
  ENOENT: 'no such file',
  EACCES: 'permission denied',
  EPERM: 'permission denied',
  EISDIR: 'a directory, not a file',
  ENOTDIR: 'a part of the path is not a directory',
}

/** PEM text and bytes are kept; any other string is a path read now. */
export function loadPem(value: string | Buffer, what: string): string | Buffer {
  if (Buffer.isBuffer(value)) return value
  if (value.includes('-----BEGIN')) return value
  try {
    return readFileSync(value)
  } catch (e) {
    const code = errorCode(e)
    const why = code !== undefined && FILE_ERRORS[code] ? `${FILE_ERRORS[code]} (${code})` : describeError(e)
    throw new NetError(`cannot read the TLS ${what} file "${value}": ${why}`, {
      reason: errorCode(e),
      target: value,
      cause: e,
    })
  }
}

export function loadPemList(
  value: string | Buffer | Array<string | Buffer> | undefined,
  what: string,
): Array<string | Buffer> | undefined {
  if (value === undefined) return undefined
  return (Array.isArray(value) ? value : [value]).map((v) => loadPem(v, what))
}

/**
 * Reads the TLS files a command was given and checks that they are what they claim (a PEM
 * certificate, a key that goes with it, CA certificates), so a mistake is named before anything is
 * bound or sent. Throws a NetError naming the file.
 */
export function checkTlsFiles(files: { cert?: string; key?: string; ca?: string }): void {
  const bad = (what: string, path: string, why: string): never => {
    throw new NetError(`the TLS ${what} file "${path}" ${why}`, { reason: 'TLS_FILE', target: path })
  }
  const reason = (e: unknown) => {
    const r = (e as { reason?: unknown }).reason
    return typeof r === 'string' ? r : describeError(e)
  }
  const cert = files.cert === undefined ? undefined : loadPem(files.cert, 'certificate')
  const key = files.key === undefined ? undefined : loadPem(files.key, 'key')
  if (files.ca !== undefined) {
    const ca = loadPem(files.ca, 'CA')
    if (!ca.toString('latin1').includes('-----BEGIN CERTIFICATE-----'))
      bad('CA', files.ca, 'holds no PEM certificate ("-----BEGIN CERTIFICATE-----")')
  }
  if (cert !== undefined && files.cert !== undefined) {
    try {
      createSecureContext({ cert })
    } catch (e) {
      bad('certificate', files.cert, `is not a PEM certificate (${reason(e)})`)
    }
  }
  if (key !== undefined && files.key !== undefined) {
    try {
      createSecureContext({ key })
    } catch (e) {
      bad('key', files.key, `is not a PEM private key (${reason(e)})`)
    }
  }
  if (cert !== undefined && key !== undefined && files.cert !== undefined && files.key !== undefined) {
    try {
      createSecureContext({ cert, key })
    } catch (e) {
      bad('key', files.key, `does not go with the certificate "${files.cert}" (${reason(e)})`)
    }
  }
}
