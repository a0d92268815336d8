/** Scopes: which clusters a principal (for the API door, a sender) may target, which events it may fire, which queries it may ask. */

/** What a principal may do: which clusters, which event names. config.ts parses one per sender. */
export interface Scope {
  clusters: '*' | string[]
  /** Compiled with {@link compileEventPatterns}. */
  events: RegExp[]
}

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
export const mayUseCluster = (sender: Scope, cluster: string): boolean =>
  sender.clusters === '*' || sender.clusters.includes(cluster)

/** Whether `sender` may fire an event called `name`. */
export const mayFire = (sender: Scope, name: string): boolean => sender.events.some((pattern) => pattern.test(name))

/** A scope that may also ask queries: names apart from events', none unless given (deny by default). */
export interface QueryScope extends Scope {
  /** Compiled with {@link compileEventPatterns}. */
  queries: RegExp[]
}

/** Whether `who` may ask a query called `name`. */
export const mayAsk = (who: Pick<QueryScope, 'queries'>, name: string): boolean =>
  who.queries.some((pattern) => pattern.test(name))

/** Whether `who` may read the audit trail of `cluster`. */
export const mayAudit = (who: { audit: '*' | string[] }, cluster: string): boolean =>
  who.audit === '*' || who.audit.includes(cluster)

/** Whether `who` may invite and manage the devices of `operator`. */
export const mayManageOperator = (who: { operators: '*' | string[] }, operator: string): boolean =>
  who.operators === '*' || who.operators.includes(operator)
