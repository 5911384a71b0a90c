import { SimUsageError } from './errors.ts';
import { changeKey, outlookId } from './ids.ts';
import type { ChangeType, SimUser } from './types.ts';

/** The Outlook item kinds besides events: messages (in mail folders) and personal contacts. */
export type ItemKind = 'messages' | 'contacts';

/** Mail folders every mailbox has, by their well-known names (Graph accepts the name in place of the id). */
export const WELL_KNOWN_FOLDERS: Record<string, string> = {
  inbox: 'Inbox',
  archive: 'Archive',
  drafts: 'Drafts',
  sentitems: 'Sent Items',
  deleteditems: 'Deleted Items',
  junkemail: 'Junk Email',
};

export interface Folder {
  id: string;
  wellKnownName: string;
  displayName: string;
}

/** Properties a `$select` may name, per kind (resources/message and resources/contact, v1.0). */
export const ITEM_PROPERTIES: Record<ItemKind, Set<string>> = {
  messages: new Set([
    'bccRecipients',
    'body',
    'bodyPreview',
    'categories',
    'ccRecipients',
    'changeKey',
    'conversationId',
    'conversationIndex',
    'createdDateTime',
    'flag',
    'from',
    'hasAttachments',
    'id',
    'importance',
    'inferenceClassification',
    'internetMessageId',
    'isDeliveryReceiptRequested',
    'isDraft',
    'isRead',
    'isReadReceiptRequested',
    'lastModifiedDateTime',
    'parentFolderId',
    'receivedDateTime',
    'replyTo',
    'sender',
    'sentDateTime',
    'subject',
    'toRecipients',
    'uniqueBody',
    'webLink',
  ]),
  contacts: new Set([
    'businessPhones',
    'categories',
    'changeKey',
    'companyName',
    'createdDateTime',
    'displayName',
    'emailAddresses',
    'givenName',
    'id',
    'jobTitle',
    'lastModifiedDateTime',
    'mobilePhone',
    'parentFolderId',
    'personalNotes',
    'surname',
  ]),
};

/** What the control API lets a test set, per kind, and the type of each field. */
const INPUT: Record<ItemKind, Record<string, 'string' | 'strings' | 'boolean'>> = {
  messages: {
    subject: 'string',
    body: 'string',
    from: 'string',
    toRecipients: 'strings',
    ccRecipients: 'strings',
    categories: 'strings',
    importance: 'string',
    isRead: 'boolean',
    isDraft: 'boolean',
  },
  contacts: {
    givenName: 'string',
    surname: 'string',
    companyName: 'string',
    jobTitle: 'string',
    mobilePhone: 'string',
    personalNotes: 'string',
    emailAddresses: 'strings',
    businessPhones: 'strings',
    categories: 'strings',
  },
};

export interface StoredItem {
  kind: ItemKind;
  immutableId: string;
  restId: string;
  userId: string;
  folderId: string;
  /** Global change sequence number of the last change; delta tokens are positions in this sequence. */
  seq: number;
  createdMs: number;
  modifiedMs: number;
  changeKey: string;
  fields: Record<string, unknown>;
}

export interface ItemRemoval {
  kind: ItemKind;
  seq: number;
  userId: string;
  /** The folder the item left: a delete, or a move out of it. */
  folderId: string;
  restId: string;
  immutableId: string;
  /** A move: the item lives on elsewhere (its immutable id unchanged, its REST id new). */
  moved: boolean;
}

export interface ItemChange {
  type: ChangeType;
  item: StoredItem;
  /** For a move: where it was, and the REST id it had. */
  previousFolderId?: string;
  previousRestId?: string;
  moved?: boolean;
}

function checkInput(kind: ItemKind, raw: Record<string, unknown>): Record<string, unknown> {
  const allowed = INPUT[kind];
  const unknown = Object.keys(raw).filter((k) => !(k in allowed));
  if (unknown.length)
    throw new SimUsageError(
      `unknown ${kind} field(s) ${unknown.join(', ')}; allowed: ${Object.keys(allowed).join(', ')}`,
    );
  for (const [key, value] of Object.entries(raw)) {
    const type = allowed[key];
    const ok =
      type === 'string'
        ? typeof value === 'string'
        : type === 'boolean'
          ? typeof value === 'boolean'
          : Array.isArray(value) && value.every((v) => typeof v === 'string');
    if (!ok)
      throw new SimUsageError(`${kind} ${key} must be ${type === 'strings' ? 'an array of strings' : `a ${type}`}`);
  }
  return raw;
}

/**
 * Every mailbox's messages (in folders) and contacts, with a change sequence for delta queries and listeners
 * for notifications. Moving a message changes its REST id and folder; its immutable id stays.
 */
export class OutlookItems {
  private readonly items = new Map<string, StoredItem>();
  private readonly byRestId = new Map<string, StoredItem>();
  private readonly removals: ItemRemoval[] = [];
  private readonly folderIds = new Map<string, Folder[]>();
  private readonly listeners: Array<(change: ItemChange) => void> = [];
  private readonly seq: () => number;
  private readonly now: () => number;

  /** `seq` hands out the next change number, shared with the calendar so tokens of both stay ordered. */
  constructor(now: () => number, seq: () => number) {
    this.now = now;
    this.seq = seq;
  }

  onChange(listener: (change: ItemChange) => void): void {
    this.listeners.push(listener);
  }

  /** The mailbox's mail folders (messages) or its default contacts folder (contacts). */
  folders(userId: string, kind: ItemKind): Folder[] {
    const key = `${kind}|${userId}`;
    let folders = this.folderIds.get(key);
    if (!folders) {
      folders =
        kind === 'messages'
          ? Object.entries(WELL_KNOWN_FOLDERS).map(([name, displayName]) => ({
              id: outlookId(),
              wellKnownName: name,
              displayName,
            }))
          : [{ id: outlookId(), wellKnownName: 'contacts', displayName: 'Contacts' }];
      this.folderIds.set(key, folders);
    }
    return folders;
  }

  /** A folder by id or well-known name (any casing), as Graph resolves `mailFolders/{id}`. */
  folder(userId: string, kind: ItemKind, ref: string): Folder | undefined {
    return this.folders(userId, kind).find((f) => f.id === ref || f.wellKnownName === ref.toLowerCase());
  }

  create(kind: ItemKind, user: SimUser, folderRef: string | undefined, raw: Record<string, unknown>): StoredItem {
    const fields = checkInput(kind, raw);
    const folder = this.requireFolder(user.id, kind, folderRef ?? (kind === 'messages' ? 'inbox' : 'contacts'));
    const now = this.now();
    const item: StoredItem = {
      kind,
      immutableId: outlookId(),
      restId: outlookId(),
      userId: user.id,
      folderId: folder.id,
      seq: this.seq(),
      createdMs: now,
      modifiedMs: now,
      changeKey: changeKey(),
      fields: { ...fields },
    };
    this.items.set(item.immutableId, item);
    this.byRestId.set(item.restId, item);
    this.emit({ type: 'created', item });
    return item;
  }

  update(kind: ItemKind, userId: string, id: string, raw: Record<string, unknown>): StoredItem {
    const item = this.require(kind, userId, id);
    Object.assign(item.fields, checkInput(kind, raw));
    this.touch(item);
    this.emit({ type: 'updated', item });
    return item;
  }

  delete(kind: ItemKind, userId: string, id: string): StoredItem {
    const item = this.require(kind, userId, id);
    this.items.delete(item.immutableId);
    this.byRestId.delete(item.restId);
    item.seq = this.seq();
    this.removals.push({
      kind,
      seq: item.seq,
      userId,
      folderId: item.folderId,
      restId: item.restId,
      immutableId: item.immutableId,
      moved: false,
    });
    this.emit({ type: 'deleted', item });
    return item;
  }

  /** Files a message into another folder: a new REST id and folder, the same immutable id. */
  move(userId: string, id: string, folderRef: string): StoredItem {
    const item = this.require('messages', userId, id);
    const folder = this.requireFolder(userId, 'messages', folderRef);
    if (folder.id === item.folderId) throw new SimUsageError(`the message is already in ${folder.displayName}`);
    const previousFolderId = item.folderId;
    const previousRestId = item.restId;
    this.byRestId.delete(previousRestId);
    item.restId = outlookId();
    item.folderId = folder.id;
    this.byRestId.set(item.restId, item);
    this.touch(item);
    this.removals.push({
      kind: 'messages',
      seq: item.seq,
      userId,
      folderId: previousFolderId,
      restId: previousRestId,
      immutableId: item.immutableId,
      moved: true,
    });
    this.emit({ type: 'updated', item, previousFolderId, previousRestId, moved: true });
    return item;
  }

  /** An item by REST id or immutable id, only inside its own mailbox and kind. */
  find(kind: ItemKind, userId: string, id: string): StoredItem | undefined {
    const item = this.byRestId.get(id) ?? this.items.get(id);
    return item && item.userId === userId && item.kind === kind ? item : undefined;
  }

  forUser(kind: ItemKind, userId: string): StoredItem[] {
    return [...this.items.values()].filter((i) => i.kind === kind && i.userId === userId);
  }

  /** Live items of one folder changed in (afterSeq, uptoSeq], and what left the folder in that range. */
  changesBetween(
    kind: ItemKind,
    userId: string,
    folderId: string,
    afterSeq: number,
    uptoSeq: number,
  ): { items: StoredItem[]; removals: ItemRemoval[] } {
    const inRange = (seq: number): boolean => seq > afterSeq && seq <= uptoSeq;
    return {
      items: this.forUser(kind, userId).filter((i) => i.folderId === folderId && inRange(i.seq)),
      removals: this.removals.filter(
        (r) => r.kind === kind && r.userId === userId && r.folderId === folderId && inRange(r.seq),
      ),
    };
  }

  private requireFolder(userId: string, kind: ItemKind, ref: string): Folder {
    const folder = this.folder(userId, kind, ref);
    if (!folder) throw new SimUsageError(`user ${userId} has no ${kind} folder ${ref}`, 404);
    return folder;
  }

  private require(kind: ItemKind, userId: string, id: string): StoredItem {
    const item = this.find(kind, userId, id);
    if (!item) throw new SimUsageError(`user ${userId} has no ${kind} item ${id}`, 404);
    return item;
  }

  private touch(item: StoredItem): void {
    item.seq = this.seq();
    item.modifiedMs = this.now();
    item.changeKey = changeKey();
  }

  private emit(change: ItemChange): void {
    for (const listener of this.listeners) listener(change);
  }
}

const recipients = (list: unknown): Array<{ emailAddress: { name: string; address: string } }> =>
  (Array.isArray(list) ? (list as string[]) : []).map((address) => ({
    emailAddress: { name: address.split('@')[0] ?? address, address },
  }));

/** The item as Graph's JSON shows it, with the id flavour the caller asked for. */
export function renderItem(
  item: StoredItem,
  owner: SimUser,
  immutable: boolean,
  graphBase: string,
): Record<string, unknown> {
  const id = immutable ? item.immutableId : item.restId;
  const f = item.fields;
  const common = {
    '@odata.etag': `W/"${item.changeKey}"`,
    id,
    createdDateTime: new Date(item.createdMs).toISOString(),
    lastModifiedDateTime: new Date(item.modifiedMs).toISOString(),
    changeKey: item.changeKey,
    categories: (f.categories as string[] | undefined) ?? [],
    parentFolderId: item.folderId,
  };
  if (item.kind === 'contacts') {
    const givenName = (f.givenName as string | undefined) ?? '';
    const surname = (f.surname as string | undefined) ?? '';
    return {
      ...common,
      displayName: `${givenName} ${surname}`.trim(),
      givenName,
      surname,
      companyName: f.companyName ?? null,
      jobTitle: f.jobTitle ?? null,
      mobilePhone: f.mobilePhone ?? null,
      personalNotes: f.personalNotes ?? '',
      businessPhones: f.businessPhones ?? [],
      emailAddresses: ((f.emailAddresses as string[] | undefined) ?? []).map((address) => ({ name: address, address })),
    };
  }
  const body = (f.body as string | undefined) ?? '';
  const from = (f.from as string | undefined) ?? owner.mail;
  return {
    ...common,
    receivedDateTime: new Date(item.createdMs).toISOString(),
    sentDateTime: new Date(item.createdMs).toISOString(),
    hasAttachments: false,
    internetMessageId: `<${item.immutableId.slice(4, 24)}@graph-sim>`,
    subject: f.subject ?? '',
    bodyPreview: body.replace(/<[^>]*>/g, '').slice(0, 255),
    importance: f.importance ?? 'normal',
    conversationId: `AAQk${item.immutableId.slice(4, 40)}`,
    isRead: f.isRead ?? false,
    isDraft: f.isDraft ?? false,
    webLink: `${graphBase.replace(/\/v1\.0$/, '')}/owa/?ItemID=${encodeURIComponent(id)}&exvsurl=1&viewmodel=ReadMessageItem`,
    inferenceClassification: 'focused',
    body: { contentType: 'html', content: body },
    sender: recipients([from])[0],
    from: recipients([from])[0],
    toRecipients: recipients(f.toRecipients ?? [owner.mail]),
    ccRecipients: recipients(f.ccRecipients),
    bccRecipients: [],
    replyTo: [],
    flag: { flagStatus: 'notFlagged' },
  };
}
