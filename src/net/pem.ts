/**
 * Certificates and keys given as a file path, PEM text or bytes. A file that cannot be read is a
 * NetError naming the file.
 */
import { readFileSync } from 'node:fs'
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
