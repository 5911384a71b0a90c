import { KINDS, type KindName } from '../kinds/index.ts';
import type { RenewalAuth, SubscriptionSettings } from './config-types.ts';
import {
  MAX_EXPAND_FUTURE_DAYS,
  MAX_SWEEP_HOURS,
  parseChangeTypes,
  parseDesiredState,
  type DesiredEntry,
} from './desired-state.ts';
import { GUID, shown, type EnvReader } from './env-reader.ts';

/** The subscription manager's settings and desired state; undefined when G2K_NOTIFICATION_URL is not set. */
export function readSubscriptions(r: EnvReader, homeTenantId: string): SubscriptionSettings | undefined {
  let subscriptions: SubscriptionSettings | undefined;
  if (r.env.G2K_NOTIFICATION_URL?.trim()) {
    const hookUrl = (name: 'G2K_NOTIFICATION_URL' | 'G2K_LIFECYCLE_URL'): string => {
      const value = r.text(name);
      try {
        const u = new URL(value);
        // Graph only calls https; graph-sim also reaches http on loopback, for local development.
        if (u.protocol !== 'https:' && !(u.protocol === 'http:' && ['127.0.0.1', 'localhost'].includes(u.hostname))) {
          r.problems.push(`${name} must be an https URL (http only on 127.0.0.1/localhost), got ${shown(value)}.`);
        }
      } catch {
        if (value) r.problems.push(`${name} must be an absolute URL, got ${shown(value)}.`);
      }
      return value;
    };
    const ids = (name: 'G2K_SUBSCRIBE_USERS' | 'G2K_SUBSCRIBE_GROUPS'): string[] => {
      const list = r
        .text(name, '')
        .split(',')
        .map((u) => u.trim().toLowerCase())
        .filter(Boolean);
      for (const id of list)
        if (!GUID.test(id)) r.problems.push(`${name} must list object ids (GUIDs), got ${shown(id)}.`);
      return list;
    };
    const desired: DesiredEntry[] = [];
    const desiredFile = r.env.G2K_SUBSCRIPTIONS_FILE?.trim();
    if (desiredFile) {
      const content = r.file('G2K_SUBSCRIPTIONS_FILE');
      if (content !== undefined)
        desired.push(...parseDesiredState(content, 'G2K_SUBSCRIPTIONS_FILE', homeTenantId, r.problems));
    }
    const users = ids('G2K_SUBSCRIBE_USERS');
    const groups = ids('G2K_SUBSCRIBE_GROUPS');
    const kinds = r
      .text('G2K_SUBSCRIBE_KINDS', 'events')
      .split(',')
      .map((k) => k.trim())
      .filter(Boolean);
    for (const kind of kinds) {
      if (!Object.prototype.hasOwnProperty.call(KINDS, kind)) {
        r.problems.push(`G2K_SUBSCRIBE_KINDS must list ${Object.keys(KINDS).join(', ')}, got ${shown(kind)}.`);
        continue;
      }
      const k = KINDS[kind as KindName];
      const changeTypes = parseChangeTypes(
        r.env.G2K_CHANGE_TYPES?.trim() || undefined,
        k.changeTypes,
        k.defaultChangeTypes,
        'G2K_CHANGE_TYPES',
        r.problems,
      );
      const expandDays = k.name === 'events' ? r.int('G2K_EXPAND_OCCURRENCES_DAYS', 0, 0, MAX_EXPAND_FUTURE_DAYS) : 0;
      const expandOccurrences = expandDays ? { pastDays: 0, futureDays: expandDays } : undefined;
      if (users.length || groups.length)
        desired.push({
          source: `G2K_SUBSCRIBE_USERS/G2K_SUBSCRIBE_GROUPS (${kind})`,
          tenantId: homeTenantId.toLowerCase(),
          kind: k.name,
          users,
          groups,
          folders: [],
          containers: [],
          calendars: 'default',
          changeTypes,
          select: undefined,
          ...(expandOccurrences ? { expandOccurrences } : {}),
          mode: 'basic',
        });
    }
    subscriptions = {
      desired,
      notificationUrl: hookUrl('G2K_NOTIFICATION_URL'),
      lifecycleNotificationUrl: hookUrl('G2K_LIFECYCLE_URL'),
      lifetimeMinutes: r.int('G2K_SUBSCRIPTION_MINUTES', 10_000, 45, 10_080),
      renewWithinMinutes: r.int('G2K_RENEW_WITHIN_MINUTES', 2_880, 10, 10_000),
      resyncPastDays: r.int('G2K_RESYNC_PAST_DAYS', 30, 0, 3_650),
      resyncFutureDays: r.int('G2K_RESYNC_FUTURE_DAYS', 365, 1, 3_650),
      snapshot: r.int('G2K_SNAPSHOT', 1, 0, 1) === 1,
      sweepHours: r.int('G2K_SWEEP_HOURS', 6, 0, MAX_SWEEP_HOURS),
      limits: {
        writesPer20s: r.int('G2K_SUBSCRIPTION_WRITES_PER_20S', 500, 1, 500),
        reauthorizePer20s: 1_000,
        listPer20s: 25,
        writesPer20sPerApp: r.int('G2K_SUBSCRIPTION_WRITES_PER_20S_PER_APP', 2_000, 1, 2_000),
        reauthorizePer20sPerApp: 4_000,
        listPer20sPerApp: 40,
      },
    };
  }

  return subscriptions;
}

/** Who may call the GCP renewal endpoint: Cloud Scheduler's OIDC token for this audience (and invoker). */
export function readRenewalAuth(r: EnvReader): RenewalAuth | undefined {
  if (!r.env.G2K_RENEWAL_AUDIENCE?.trim()) return undefined;
  return {
    audience: r.text('G2K_RENEWAL_AUDIENCE'),
    // Without it any Google-signed token for the audience would do: every Google account can mint one.
    invoker: r.text('G2K_RENEWAL_INVOKER'),
    issuer: r.text('G2K_OIDC_ISSUER', 'https://accounts.google.com'),
    jwksUrl: r.text('G2K_OIDC_JWKS_URL', 'https://www.googleapis.com/oauth2/v3/certs'),
  };
}
