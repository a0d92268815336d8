/**
 * Who may do what from a chat platform. A chat app's configuration maps principals (workspace
 * plus user id, optionally narrowed by channel or platform role) to clusters, event-name and
 * query-name patterns, and marks events that need a confirmation click, a second person's
 * approval, or an announcement in the channel. Deny by default: no matching grant, no scope.
 */
import { z } from 'zod'
import { compileEventPatterns, mayFire, mayUseCluster, type QueryScope } from '../../auth/scope.ts'
import { ConfigError, issues } from '../../config-vars.ts'

/** A chat user as the platform identifies them; never a display name. */
export interface ChatActor {
  platform: 'slack' | 'discord'
  /** Slack team id, Discord guild id. */
  workspace: string
  user: string
  channel: string
  /** Platform roles (Discord role ids); Slack sends none with a command. */
  roles: string[]
}

/** What one grant allows, compiled. */
export interface ChatGrant extends QueryScope {
  users: '*' | string[]
  roles: string[]
  channels: '*' | string[]
  /** The event patterns as written, for `help`. */
  eventPatterns: string[]
  /** The query patterns as written, for `help`. */
  queryPatterns: string[]
  confirm: RegExp[]
  approval?: { events: RegExp[]; group: string }
  announce: RegExp[]
}

/** A chat app (a Slack app, a Discord application) as the doors share it. */
export interface ChatApp {
  platform: ChatActor['platform']
  id: string
  /** Accepted workspaces: Slack team ids, Discord guild ids. */
  workspaces: string[]
  defaultCluster?: string
  channelClusters: Record<string, string>
  grants: ChatGrant[]
  /** Approver groups: user ids of the workspace. */
  groups: Record<string, string[]>
  /** Origins follow-ups may go to besides the platform's own; `loopback` for development. */
  responseOrigins: string[]
}

const ids = z.union([z.literal('*'), z.array(z.string().min(1)).min(1)])

/** A grant as configured; shared by every chat door's configuration. */
export const chatGrantSchema = z
  .strictObject({
    users: ids.optional(),
    roles: z.array(z.string().min(1)).default([]),
    channels: ids.default('*'),
    clusters: ids,
    events: z.array(z.string().min(1)).default([]),
    /** Query names the grant lets its users ask (`/serf query`); none unless given. */
    queries: z.array(z.string().min(1)).default([]),
    confirm: z.array(z.string().min(1)).default([]),
    approval: z.strictObject({ events: z.array(z.string().min(1)).min(1), group: z.string().min(1) }).optional(),
    announce: z.array(z.string().min(1)).default([]),
  })
  .refine((grant) => grant.users !== undefined || grant.roles.length > 0, {
    error: 'a grant names users (or "*") or roles: none would match nobody',
  })
  .refine((grant) => grant.events.length > 0 || grant.queries.length > 0, {
    error: 'a grant names events or queries (or both): with neither it allows nothing',
  })

/** The parts of a chat app's configuration every platform shares. */
export const chatAppFields = {
  defaultCluster: z.string().optional(),
  channelClusters: z.record(z.string(), z.string()).default({}),
  grants: z.array(chatGrantSchema).default([]),
  groups: z.record(z.string(), z.array(z.string().min(1))).default({}),
  responseOrigins: z.array(z.string().min(1)).default([]),
}

type RawApp = {
  defaultCluster?: string
  channelClusters: Record<string, string>
  grants: z.infer<typeof chatGrantSchema>[]
  groups: Record<string, string[]>
  responseOrigins: string[]
}

/**
 * Check and compile a chat app's shared fields against the known clusters.
 * @throws {ConfigError} naming the field
 */
export function compileChatApp(
  where: string,
  base: Pick<ChatApp, 'platform' | 'id' | 'workspaces'>,
  raw: RawApp,
  clusters: ReadonlySet<string>,
): ChatApp {
  const known = (field: string, cluster: string) => {
    if (!clusters.has(cluster)) throw new ConfigError(`${where}.${field} names unknown cluster "${cluster}"`)
  }
  if (raw.defaultCluster) known('defaultCluster', raw.defaultCluster)
  for (const [channel, cluster] of Object.entries(raw.channelClusters)) known(`channelClusters.${channel}`, cluster)
  const grants = raw.grants.map((grant, index) => {
    for (const cluster of grant.clusters === '*' ? [] : grant.clusters) known(`grants.${index}.clusters`, cluster)
    if (grant.approval && !raw.groups[grant.approval.group]) {
      throw new ConfigError(`${where}.grants.${index}.approval names unknown group "${grant.approval.group}"`)
    }
    return {
      users: grant.users ?? [],
      roles: grant.roles,
      channels: grant.channels,
      clusters: grant.clusters,
      events: compileEventPatterns(grant.events),
      eventPatterns: grant.events,
      queries: compileEventPatterns(grant.queries),
      queryPatterns: grant.queries,
      confirm: compileEventPatterns(grant.confirm),
      ...(grant.approval
        ? { approval: { events: compileEventPatterns(grant.approval.events), group: grant.approval.group } }
        : {}),
      announce: compileEventPatterns(grant.announce),
    }
  })
  for (const origin of raw.responseOrigins) {
    if (origin !== 'loopback' && !URL.canParse(origin)) {
      throw new ConfigError(`${where}.responseOrigins: "${origin}" is not an origin (or "loopback")`)
    }
  }
  return { ...base, ...raw, grants }
}

/** Parse a whole section with `schema`, turning zod's issues into one ConfigError. */
export function parseSection<T>(name: string, schema: z.ZodType<T>, value: unknown): T {
  const parsed = schema.safeParse(value)
  if (!parsed.success) throw issues(name, parsed.error)
  return parsed.data
}

/** The principal id of a chat user: platform, workspace and user id. */
export const principalId = (actor: Pick<ChatActor, 'platform' | 'workspace' | 'user'>): string =>
  `${actor.platform}:${actor.workspace}:${actor.user}`

const matches = (list: '*' | string[], value: string) => list === '*' || list.includes(value)

/** The grants that apply to `actor` here: their user (or role) and channel match. */
export function grantsOf(app: ChatApp, actor: ChatActor): ChatGrant[] {
  if (!app.workspaces.includes(actor.workspace)) return []
  return app.grants.filter(
    (grant) =>
      (matches(grant.users, actor.user) || grant.roles.some((role) => actor.roles.includes(role))) &&
      matches(grant.channels, actor.channel),
  )
}

/**
 * What `grants` allow on `cluster`: the events and queries of the grants that reach it. Per
 * cluster, since a union over clusters would let one grant's events fire on another grant's
 * clusters. Any grant reaching the cluster lets its users read the members.
 */
export function scopeOf(grants: ChatGrant[], cluster: string): QueryScope {
  const reaching = grants.filter((grant) => mayUseCluster(grant, cluster))
  return {
    clusters: reaching.length > 0 ? [cluster] : [],
    events: reaching.flatMap((grant) => grant.events),
    queries: reaching.flatMap((grant) => grant.queries),
  }
}

/** How careful firing this event must be, from the grants that allow it: the strictest wins. */
export interface Care {
  requirement: 'none' | 'confirm' | 'approval'
  /** For `approval`: the group whose members may approve. */
  group?: string
  announce: boolean
}

export function careFor(grants: ChatGrant[], cluster: string, name: string): Care {
  const allowing = grants.filter((g) => mayUseCluster(g, cluster) && mayFire(g, name))
  const test = (patterns: RegExp[]) => patterns.some((p) => p.test(name))
  const approval = allowing.find((g) => g.approval && test(g.approval.events))?.approval
  const announce = allowing.some((g) => test(g.announce))
  if (approval) return { requirement: 'approval', group: approval.group, announce }
  return { requirement: allowing.some((g) => test(g.confirm)) ? 'confirm' : 'none', announce }
}

/** The cluster a command goes to: its `-cluster`, the channel's, or the app's default. */
export function clusterFor(app: ChatApp, channel: string, asked: string | undefined): string | undefined {
  return asked ?? app.channelClusters[channel] ?? app.defaultCluster
}

/** Whether follow-ups may go to `url`: the platform's own origin, or one the app allows. */
export function mayReplyTo(app: ChatApp, url: string, platformOrigin: string): boolean {
  let target: URL
  try {
    target = new URL(url)
  } catch {
    return false
  }
  if (target.origin === platformOrigin) return true
  if (app.responseOrigins.includes('loopback') && ['http:', 'https:'].includes(target.protocol)) {
    if (['127.0.0.1', 'localhost', '[::1]'].includes(target.hostname)) return true
  }
  return app.responseOrigins.some((origin) => origin !== 'loopback' && new URL(origin).origin === target.origin)
}
