/** Sender scopes: which clusters a sender may target and which event names it may fire. */
import type { SenderConfig } from '../config.ts'

/**
 * Compile event-name patterns: `*` matches any run of characters, everything else is literal.
 * @example compileEventPatterns(['deploy', 'restart-*'])
 */
export function compileEventPatterns(patterns: string[]): RegExp[] {
  return patterns.map((pattern) => {
    const body = pattern
      .split('*')
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('.*')
    return new RegExp(`^${body}$`, 's')
  })
}

/** Whether `sender` may send to `cluster` at all. */
export const mayUseCluster = (sender: SenderConfig, cluster: string): boolean =>
  sender.clusters === '*' || sender.clusters.includes(cluster)

/** Whether `sender` may fire an event called `name`. */
export const mayFire = (sender: SenderConfig, name: string): boolean =>
  sender.events.some((pattern) => pattern.test(name))
