/** IP addresses as Serf sends them (a Go `net.IP`: 4 or 16 bytes), as text. */

/**
 * A Go `net.IP` as text: dotted quad for 4 bytes and for IPv4-mapped IPv6, else RFC 5952
 * (lower-case hex, the longest run of two or more zero groups as `::`).
 * @example ipText(Uint8Array.of(127, 0, 0, 1)) // '127.0.0.1'
 */
export function ipText(bytes: Uint8Array): string {
  const mapped =
    bytes.length === 16 && bytes.subarray(0, 10).every((b) => b === 0) && bytes[10] === 0xff && bytes[11] === 0xff
  if (bytes.length === 4 || mapped) return Array.from(bytes.subarray(-4)).join('.')
  if (bytes.length !== 16) return ''
  const groups = Array.from({ length: 8 }, (_, i) => ((bytes[2 * i]! << 8) | bytes[2 * i + 1]!).toString(16))
  let best = { at: -1, length: 1 }
  for (let i = 0; i < 8; i++) {
    let end = i
    while (end < 8 && groups[end] === '0') end++
    if (end - i > best.length) best = { at: i, length: end - i }
    i = end
  }
  if (best.at < 0) return groups.join(':')
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.length).join(':')}`
}
