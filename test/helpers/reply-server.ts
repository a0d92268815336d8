/**
 * A local HTTP server standing in for a chat platform's reply endpoint (Slack's response_url,
 * Discord's webhook API), which the real ones are out of reach here: it keeps every request.
 */
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'

/** One request the stand-in received. */
export interface ReceivedRequest {
  method: string
  path: string
  contentType: string | undefined
  body: string
}

export interface ReplyServer {
  /** `http://127.0.0.1:<port>`. */
  url: string
  /** Every request so far, in arrival order. */
  received: ReceivedRequest[]
  close(): Promise<void>
}

/** Start the stand-in on a free loopback port; it answers every request `200 ok`. */
export async function startReplyServer(): Promise<ReplyServer> {
  const received: ReceivedRequest[] = []
  const server = createServer((req, res) => {
    let body = ''
    req.on('data', (chunk) => {
      body += chunk
    })
    req.on('end', () => {
      received.push({ method: req.method ?? '', path: req.url ?? '', contentType: req.headers['content-type'], body })
      res.end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    received,
    async close() {
      server.closeAllConnections()
      await new Promise((resolve) => server.close(resolve))
    },
  }
}
