/** Drive `runCli` in-process with captured output and an environment of the test's choosing. */
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { type CliIo, runCli } from '../../client/cli.ts'

// A HOME that does not exist: no config file is found there, and nothing is left behind.
const NO_HOME = join(tmpdir(), `serf-edge-no-home-${process.pid}`)

export interface CliRun {
  code: number
  stdout: string
  stderr: string
}

/**
 * Run the CLI. `env` is all it sees: HOME points at a folder that does not exist unless the test
 * sets it, so a developer's own ~/.config/serf-edge never leaks in.
 */
export async function cli(
  argv: string[],
  options: {
    env?: Record<string, string | undefined>
    stdin?: CliIo['stdin']
    fetch?: typeof fetch
  } = {},
): Promise<CliRun> {
  let stdout = ''
  let stderr = ''
  const code = await runCli(argv, {
    stdout: (text) => (stdout += text),
    stderr: (text) => (stderr += text),
    env: { HOME: NO_HOME, ...options.env },
    stdin: options.stdin,
    fetch: options.fetch,
  })
  return { code, stdout, stderr }
}

/** The environment that points the CLI at `url` as sender `bot` of cluster `prod`. */
export function edgeEnv(url: string, key: string): Record<string, string> {
  return {
    SERF_EDGE_URL: url,
    SERF_EDGE_CLUSTER: 'prod',
    SERF_EDGE_SENDER: 'bot',
    SERF_EDGE_KEY: key,
  }
}
