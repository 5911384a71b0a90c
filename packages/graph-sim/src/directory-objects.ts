import type { Directory } from './directory.ts';
import { SimUsageError } from './errors.ts';
import type { ChangeType } from './types.ts';

export type DirectoryKind = 'users' | 'groups';

/** What the control API lets a test set on a directory object, per kind. */
const INPUT: Record<DirectoryKind, Set<string>> = {
  users: new Set(['displayName', 'givenName', 'surname', 'jobTitle', 'department', 'accountEnabled']),
  groups: new Set(['displayName', 'description']),
};

/** Properties a `$select` may name (resources/user and resources/group, the ones graph-sim renders). */
export const DIRECTORY_PROPERTIES: Record<DirectoryKind, Set<string>> = {
  users: new Set([
    'id',
    'displayName',
    'userPrincipalName',
    'mail',
    'givenName',
    'surname',
    'jobTitle',
    'department',
    'accountEnabled',
  ]),
  groups: new Set(['id', 'displayName', 'description', 'mail', 'mailEnabled', 'securityEnabled', 'groupTypes']),
};

interface Tracked {
  kind: DirectoryKind;
  id: string;
  tenantId: string;
  seq: number;
  deleted: boolean;
  props: Record<string, unknown>;
}

export interface DirectoryChange {
  kind: DirectoryKind;
  id: string;
  tenantId: string;
  type: ChangeType;
}

/**
 * Directory users and groups as change notifications and delta see them: every change gets a sequence number,
 * updates and deletes are kept per object (the mailbox directory itself stays as it is, so a deleted user's
 * mailbox still resolves for the Outlook routes).
 */
export class DirectoryObjects {
  private readonly tracked = new Map<string, Tracked>();
  private readonly listeners: Array<(change: DirectoryChange) => void> = [];
  private readonly directory: Directory;
  private readonly seq: () => number;

  constructor(directory: Directory, seq: () => number) {
    this.directory = directory;
    this.seq = seq;
  }

  onChange(listener: (change: DirectoryChange) => void): void {
    this.listeners.push(listener);
  }

  /** A user or group added to the directory: Graph reports a creation as `updated`. */
  created(kind: DirectoryKind, id: string): void {
    const t = this.track(kind, id);
    t.seq = this.seq();
    this.emit({ kind, id: t.id, tenantId: t.tenantId, type: 'updated' });
  }

  update(kind: DirectoryKind, id: string, input: Record<string, unknown>): void {
    const unknown = Object.keys(input).filter((k) => !INPUT[kind].has(k));
    if (unknown.length)
      throw new SimUsageError(
        `unknown ${kind} field(s) ${unknown.join(', ')}; allowed: ${[...INPUT[kind]].join(', ')}`,
      );
    const t = this.require(kind, id);
    Object.assign(t.props, input);
    t.seq = this.seq();
    this.emit({ kind, id: t.id, tenantId: t.tenantId, type: 'updated' });
  }

  /** A change Graph reports without a property of the object changing (its membership): `updated`. */
  touched(kind: DirectoryKind, id: string): void {
    const t = this.require(kind, id);
    t.seq = this.seq();
    this.emit({ kind, id: t.id, tenantId: t.tenantId, type: 'updated' });
  }

  /** A permanent delete: reads answer 404 `Request_ResourceNotFound`, delta reports `@removed`. */
  delete(kind: DirectoryKind, id: string): void {
    const t = this.require(kind, id);
    t.deleted = true;
    t.seq = this.seq();
    this.emit({ kind, id: t.id, tenantId: t.tenantId, type: 'deleted' });
  }

  /** The object as Graph's JSON shows it, or undefined when it does not exist (in that tenant). */
  render(kind: DirectoryKind, id: string, tenantId: string): Record<string, unknown> | undefined {
    const t = this.find(kind, id);
    if (!t || t.deleted || t.tenantId !== tenantId) return undefined;
    if (kind === 'users') {
      const u = this.directory.findUser(t.id)!;
      return {
        id: u.id,
        displayName: u.displayName,
        userPrincipalName: u.userPrincipalName,
        mail: u.mail,
        givenName: null,
        surname: null,
        jobTitle: null,
        department: null,
        accountEnabled: true,
        ...t.props,
      };
    }
    const g = this.directory.groups.get(t.id)!;
    return {
      id: g.id,
      displayName: g.displayName,
      description: null,
      mail: null,
      mailEnabled: false,
      securityEnabled: true,
      groupTypes: [],
      ...t.props,
    };
  }

  /** Every object of the kind in the tenant with its last change number, deleted ones included. */
  all(kind: DirectoryKind, tenantId: string): Array<{ id: string; seq: number; deleted: boolean }> {
    const ids =
      kind === 'users'
        ? this.directory.listUsers(tenantId).map((u) => u.id)
        : [...this.directory.groups.values()].filter((g) => g.tenantId === tenantId).map((g) => g.id);
    return ids.map((id) => this.track(kind, id)).map(({ id, seq, deleted }) => ({ id, seq, deleted }));
  }

  private find(kind: DirectoryKind, id: string): Tracked | undefined {
    const exists = kind === 'users' ? this.directory.findUser(id) : this.directory.groups.get(id);
    return exists ? this.track(kind, exists.id) : undefined;
  }

  private require(kind: DirectoryKind, id: string): Tracked {
    const t = this.find(kind, id);
    if (!t || t.deleted) throw new SimUsageError(`no ${kind} object ${id}`, 404);
    return t;
  }

  /** Objects seeded with the directory have change number 0: part of every initial round, no notification. */
  private track(kind: DirectoryKind, id: string): Tracked {
    const key = `${kind}|${id}`;
    let t = this.tracked.get(key);
    if (!t) {
      const tenantId =
        kind === 'users' ? this.directory.findUser(id)!.tenantId : this.directory.groups.get(id)!.tenantId;
      t = { kind, id, tenantId, seq: 0, deleted: false, props: {} };
      this.tracked.set(key, t);
    }
    return t;
  }

  private emit(change: DirectoryChange): void {
    for (const listener of this.listeners) listener(change);
  }
}
