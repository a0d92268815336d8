/**
 * The on-call page's icons, drawn once and committed under page/static/icons/: a white bolt on
 * the page's navy, as 192 px and 512 px rounded squares and a 512 px maskable square whose bolt
 * stays inside the 80 % safe zone a launcher's mask may crop to. Plain RGBA PNGs written with
 * node:zlib, so drawing them needs no image library. Run `node scripts/page-icons.ts` after
 * changing the drawing.
 */
import { mkdir, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { deflateSync } from 'node:zlib'

const OUT = resolve(import.meta.dirname, '../page/static/icons')
/** The manifest's theme colour, #12355b. */
const NAVY = [0x12, 0x35, 0x5b] as const
const WHITE = [0xff, 0xff, 0xff] as const
/** Subsamples per pixel side: edges get 16 levels of coverage. */
const SUB = 4

/** The bolt, in a unit square (0..1), clockwise. */
const BOLT: [number, number][] = [
  [0.56, 0.08],
  [0.22, 0.56],
  [0.46, 0.56],
  [0.38, 0.92],
  [0.78, 0.4],
  [0.53, 0.4],
  [0.64, 0.08],
]

function insidePolygon(x: number, y: number, polygon: [number, number][]): boolean {
  let inside = false
  for (let i = 0, j = polygon.length - 1; i < polygon.length; j = i++) {
    const [xi, yi] = polygon[i]!
    const [xj, yj] = polygon[j]!
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside
  }
  return inside
}

function insideRoundedSquare(x: number, y: number, radius: number): boolean {
  const cx = Math.min(Math.max(x, radius), 1 - radius)
  const cy = Math.min(Math.max(y, radius), 1 - radius)
  return (x - cx) ** 2 + (y - cy) ** 2 <= radius ** 2
}

interface IconOptions {
  size: number
  /** Full-bleed background (maskable) or a rounded square with transparent corners. */
  maskable: boolean
}

/** RGBA rows, each prefixed with PNG filter byte 0 (none). */
function draw({ size, maskable }: IconOptions): Buffer {
  // The bolt's scale: a maskable icon keeps it well inside the central 80 % circle.
  const scale = maskable ? 0.56 : 0.74
  const offset = (1 - scale) / 2
  const bolt = BOLT.map(([x, y]) => [offset + x * scale, offset + y * scale] as [number, number])
  const rows = Buffer.alloc(size * (size * 4 + 1))
  for (let py = 0; py < size; py++) {
    const row = py * (size * 4 + 1)
    for (let px = 0; px < size; px++) {
      let background = 0
      let mark = 0
      for (let sy = 0; sy < SUB; sy++) {
        for (let sx = 0; sx < SUB; sx++) {
          const x = (px + (sx + 0.5) / SUB) / size
          const y = (py + (sy + 0.5) / SUB) / size
          if (!maskable && !insideRoundedSquare(x, y, 0.18)) continue
          background++
          if (insidePolygon(x, y, bolt)) mark++
        }
      }
      const alpha = background / SUB ** 2
      const t = background === 0 ? 0 : mark / background
      const at = row + 1 + px * 4
      for (let c = 0; c < 3; c++) rows[at + c] = Math.round(NAVY[c]! * (1 - t) + WHITE[c]! * t)
      rows[at + 3] = Math.round(alpha * 255)
    }
  }
  return rows
}

const CRC_TABLE = Array.from({ length: 256 }, (_, n) => {
  let c = n
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
  return c >>> 0
})

function crc32(bytes: Buffer): number {
  let c = 0xffffffff
  for (const byte of bytes) c = CRC_TABLE[(c ^ byte) & 0xff]! ^ (c >>> 8)
  return (c ^ 0xffffffff) >>> 0
}

function chunk(type: string, data: Buffer): Buffer {
  const head = Buffer.alloc(8)
  head.writeUInt32BE(data.length, 0)
  head.write(type, 4, 'ascii')
  const crc = Buffer.alloc(4)
  crc.writeUInt32BE(crc32(Buffer.concat([head.subarray(4), data])), 0)
  return Buffer.concat([head, data, crc])
}

/** A PNG of the icon: 8-bit RGBA, not interlaced. */
function iconPng(options: IconOptions): Buffer {
  const header = Buffer.alloc(13)
  header.writeUInt32BE(options.size, 0)
  header.writeUInt32BE(options.size, 4)
  header.set([8, 6, 0, 0, 0], 8)
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', header),
    chunk('IDAT', deflateSync(draw(options), { level: 9 })),
    chunk('IEND', Buffer.alloc(0)),
  ])
}

const ICONS: Record<string, IconOptions> = {
  'icon-192.png': { size: 192, maskable: false },
  'icon-512.png': { size: 512, maskable: false },
  'maskable-512.png': { size: 512, maskable: true },
}

await mkdir(OUT, { recursive: true })
for (const [file, options] of Object.entries(ICONS)) {
  await writeFile(join(OUT, file), iconPng(options))
  process.stderr.write(`page/static/icons/${file}\n`)
}
