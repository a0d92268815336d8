/** Loopback ports: is something listening, which port is free. */
import { createSocket } from 'node:dgram'
import { connect, createServer } from 'node:net'

const handedOut = new Set<number>()

/** Whether a TCP connect to `host:port` succeeds now. */
export function portAnswers(address: string): Promise<boolean> {
  const colon = address.lastIndexOf(':')
  const host = address.slice(0, colon)
  const port = Number(address.slice(colon + 1))
  return new Promise((resolve) => {
    const socket = connect({ host, port })
    socket.setTimeout(2_000, () => {
      socket.destroy()
      resolve(false)
    })
    socket.once('connect', () => {
      socket.destroy()
      resolve(true)
    })
    socket.once('error', () => resolve(false))
  })
}

/**
 * A port on 127.0.0.1 free for TCP and UDP a moment ago (Serf gossips over both), never one
 * this process handed out before: processes started together cannot be given the same port.
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await unusedPort()
    if (!handedOut.has(port) && (await udpFree(port))) {
      handedOut.add(port)
      return port
    }
  }
}

async function unusedPort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as { port: number }
  await new Promise((resolve) => server.close(resolve))
  return port
}

async function udpFree(port: number): Promise<boolean> {
  const udp = createSocket('udp4')
  const free = await new Promise<boolean>((resolve) => {
    udp.once('error', () => resolve(false))
    udp.bind(port, '127.0.0.1', () => resolve(true))
  })
  udp.close()
  return free
}
