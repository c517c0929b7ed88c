/**
 * Paths checked before any work starts: an input must be there and readable, an output must be
 * writable (or its folder must be) and must not be one of the inputs. Nothing is opened for writing
 * here, so a refused output is never truncated.
 */
import { accessSync, constants, lstatSync, readlinkSync, realpathSync, statSync, type Stats } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { HepError } from '../errors.js'

/** A path that cannot be used, named with the reason in words ("cannot read x.hex: no such file"). */
export class PathError extends HepError {
  constructor(
    readonly path: string,
    readonly role: 'read' | 'write',
    readonly reason: string,
  ) {
    super('PATH', `cannot ${role} ${path}: ${reason}`)
    this.name = 'PathError'
  }
}

/** An fs error's code in words. */
export function reasonOf(e: unknown): string {
  const err = e as NodeJS.ErrnoException
  switch (err?.code) {
    case 'ENOENT':
      return 'no such file'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied'
    case 'EISDIR':
      return 'is a directory'
    case 'ENOTDIR':
      return 'a part of the path is not a directory'
    case 'ELOOP':
      return 'too many levels of symbolic links'
    case 'ENAMETOOLONG':
      return 'name too long'
    case 'EROFS':
      return 'read-only file system'
    default:
      return err?.message ?? String(e)
  }
}

/** Throws a PathError unless `path` ('-' is stdin) can be read: it exists, is not a directory, is readable. */
export function checkInput(path: string): void {
  if (path === '-') return
  let st: Stats
  try {
    st = statSync(path)
  } catch (e) {
    throw new PathError(path, 'read', reasonOf(e))
  }
  if (st.isDirectory()) throw new PathError(path, 'read', 'is a directory')
  try {
    accessSync(path, constants.R_OK)
  } catch (e) {
    throw new PathError(path, 'read', reasonOf(e))
  }
}

/**
 * Throws a PathError unless `path` ('-' is stdout) can be written without harm: it is not a
 * directory, not one of `inputs` or `otherOutputs` (same path, also through a symbolic link, or the same device and
 * inode), and it is writable or, when it does not exist yet, its folder is.
 */
export function checkOutput(
  path: string,
  inputs: readonly string[] = [],
  otherOutputs: readonly string[] = [],
): void {
  if (path === '-') return
  let st: Stats | undefined
  try {
    st = statSync(path)
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw new PathError(path, 'write', reasonOf(e))
  }
  if (st?.isDirectory()) throw new PathError(path, 'write', 'is a directory')
  for (const input of inputs) {
    if (input === '-' || !sameFile(path, st, input)) continue
    throw new PathError(
      path,
      'write',
      `it is the input${input === path ? '' : ` (${input})`}; writing it would destroy what is read`,
    )
  }
  for (const other of otherOutputs) {
    if (other !== '-' && sameFile(path, st, other))
      throw new PathError(path, 'write', `it is also the output ${other}`)
  }
  if (st) {
    try {
      accessSync(path, constants.W_OK)
    } catch (e) {
      throw new PathError(path, 'write', reasonOf(e))
    }
    return
  }
  // a new file: its folder must be there and writable (a dangling symbolic link: its target's folder)
  let target = path
  try {
    if (lstatSync(path).isSymbolicLink()) target = resolve(dirname(path), readlinkSync(path))
  } catch {
    // no such link either: the path itself
  }
  const dir = dirname(resolve(target))
  let dst: Stats
  try {
    dst = statSync(dir)
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code
    throw new PathError(
      path,
      'write',
      code === 'ENOENT' ? `no such directory (${dir})` : `${dir}: ${reasonOf(e)}`,
    )
  }
  if (!dst.isDirectory()) throw new PathError(path, 'write', `${dir} is not a directory`)
  try {
    accessSync(dir, constants.W_OK)
  } catch (e) {
    throw new PathError(path, 'write', `${dir}: ${reasonOf(e)}`)
  }
}

/** Whether writing `output` would overwrite the regular file `input` (a terminal or /dev/null is harmless). */
function sameFile(output: string, outStat: Stats | undefined, input: string): boolean {
  if (outStat !== undefined && !outStat.isFile()) return false
  if (resolve(output) === resolve(input)) return true
  if (outStat === undefined) return false
  try {
    if (realpathSync(output) === realpathSync(input)) return true
    const inStat = statSync(input)
    return inStat.dev === outStat.dev && inStat.ino === outStat.ino
  } catch {
    return false
  }
}

/**
 * Every problem with these paths, inputs first (each input is checked, then each output against the
 * inputs and the outputs before it). Empty when all can be used.
 */
export function pathProblems(inputs: readonly string[], outputs: readonly string[] = []): PathError[] {
  const problems: PathError[] = []
  const attempt = (f: () => void) => {
    try {
      f()
    } catch (e) {
      if (e instanceof PathError) problems.push(e)
      else throw e
    }
  }
  for (const i of inputs) attempt(() => checkInput(i))
  outputs.forEach((o, k) => attempt(() => checkOutput(o, inputs, outputs.slice(0, k))))
  return problems
}
