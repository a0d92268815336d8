/** What every `serf-edge` command shares: its outside world, and the edge target it signs for. */

import { UsageError } from '../protocol/flags.ts'
import { KeyFormatError } from '../protocol/signature.ts'
import { type EdgeSettings, requireEdgeTarget, requireSenderTarget } from './cli-config.ts'
import { EXIT_CODES, type ExitCode } from './cli-text.ts'
import type { EdgeOptions, SenderOptions } from './sdk.ts'

/** Everything the CLI touches outside itself, injected so tests drive it in-process. */
export interface CliIo {
  stdout: (text: string) => void
  stderr: (text: string) => void
  env: Readonly<Record<string, string | undefined>>
  /** Read for the payload `-`. */
  stdin?: AsyncIterable<Uint8Array | string>
  fetch?: typeof fetch
  signal?: AbortSignal
  /** stdout is a terminal that shows colours: a QR code then brings its own, whatever the theme. */
  color?: boolean
}

/** The `-h`/`-help` flags every command takes. */
export const HELP_FLAGS = { h: 'boolean', help: 'boolean' } as const

/** The SDK's options for `settings`, with the CLI's fetch and signal. */
export function edgeOptions(settings: EdgeSettings, io: CliIo, command: string): EdgeOptions {
  return { ...requireEdgeTarget(settings, command), fetch: io.fetch, signal: io.signal }
}

/** The SDK's options for `settings` without a cluster, for the commands about operators. */
export function senderOptions(settings: EdgeSettings, io: CliIo, command: string): SenderOptions {
  return { ...requireSenderTarget(settings, command), fetch: io.fetch, signal: io.signal }
}

/** Run `call`; a bad key becomes a usage error naming where the key came from. */
// A bad key is a config mistake; say where the key came from, never what it is.
export async function withKeySource<T>(settings: EdgeSettings, call: () => Promise<T>): Promise<T> {
  try {
    return await call()
  } catch (error) {
    if (!(error instanceof KeyFormatError)) throw error
    throw new UsageError(`signing key from ${settings.sources.key}: ${error.message}`)
  }
}

/** Print `text` (a command's help) and succeed. */
export function help(io: CliIo, text: string): ExitCode {
  io.stdout(text)
  return EXIT_CODES.ok.code
}
