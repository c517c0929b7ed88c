import { Args, Command, Flags } from '@oclif/core'

// The peer's one command: reads a line from a file or stdin and prints it back, like a one-packet decode.
export default class Hello extends Command {
  static description = 'Print the first line of a file (or stdin) back'
  static args = { file: Args.string({ description: 'file to read (stdin when none)', ignoreStdin: true }) }
  static flags = { upper: Flags.boolean({ description: 'in upper case' }) }

  async run() {
    const { args, flags } = await this.parse(Hello)
    const { readFileSync } = await import('node:fs')
    const text = readFileSync(args.file ?? 0, 'utf8').split('\n')[0]
    this.log(flags.upper ? text.toUpperCase() : text)
  }
}
