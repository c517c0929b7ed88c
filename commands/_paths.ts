/** The paths of a command checked before any work starts (see src/input/paths.ts). */
import { pathProblems } from '../src/input/paths.js'
import { EXIT } from './_base.js'

/**
 * Checks every input and output path; when one cannot be used, names each on stderr
 * ("hep convert: cannot write /x/y.jsonl: no such directory (/x)"), sets exit code 2 (a usage
 * mistake) and returns false, so the command stops before reading or writing anything.
 */
export function pathsUsable(
  command: string,
  inputs: readonly string[],
  outputs: readonly string[] = [],
): boolean {
  const problems = pathProblems(inputs, outputs)
  for (const p of problems) process.stderr.write(`hep ${command}: ${p.message}\n`)
  if (problems.length > 0) process.exitCode = EXIT.USAGE
  return problems.length === 0
}
