/** Dialing a Serf agent's RPC address, and what the client keeps per connection. */
import { connect as dial, type Socket } from 'node:net'
import type { SeqHandler } from './serf-rpc-handlers.ts'
import { SerfConnectionError, SerfRpcError } from './serf-rpc-wire.ts'

/** One TCP connection to an agent and the answers it still waits for. */
export interface Connection {
  socket: Socket
  /** `seq → handler`: every request and stream still waiting for an answer. */
  handlers: Map<number, SeqHandler>
  closed: Promise<void>
  /** `handshake` and `auth` succeeded. */
  ready: boolean
}

/** Header and body as one frame, written at once. */
export function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const frame = new Uint8Array(a.length + b.length)
  frame.set(a)
  frame.set(b, a.length)
  return frame
}

/**
 * Dial `host:port`, failing after `timeoutMs`.
 * @throws {SerfConnectionError} naming the address and the reason
 */
export function openConnection(host: string, port: number, timeoutMs: number): Promise<Connection> {
  return new Promise((resolve, reject) => {
    const socket = dial({ host, port })
    const closed = new Promise<void>((done) => socket.once('close', () => done()))
    const fail = (detail: string, cause?: unknown) => {
      clearTimeout(timer)
      socket.destroy()
      const message = `cannot connect to Serf agent at ${host}:${port}: ${detail}`
      reject(new SerfConnectionError(message, { cause }))
    }
    const timer = setTimeout(() => fail(`no answer in ${timeoutMs} ms`), timeoutMs)
    socket.once('error', (error) => fail(error.message, error))
    socket.once('connect', () => {
      clearTimeout(timer)
      // Errors after this point surface through the reader loop; keep them from crashing.
      socket.on('error', () => {})
      socket.setNoDelay(true)
      resolve({ socket, handlers: new Map(), closed, ready: false })
    })
  })
}

/** Splits `host:port` or `[v6]:port` as Go's `net.Dial` reads it. */
export function parseAddress(address: string): { host: string; port: number } {
  const match = /^\[?([^\]]*?)\]?:(\d+)$/.exec(address)
  if (!match) throw new SerfRpcError(`invalid Serf RPC address '${address}', want host:port`)
  return { host: match[1] || '127.0.0.1', port: Number(match[2]) }
}
