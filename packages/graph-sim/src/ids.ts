import { randomBytes, randomUUID } from 'node:crypto';

export const guid = (): string => randomUUID();

/** Outlook-style item id: long, base64-like, case-sensitive, padded with '='. */
export const outlookId = (): string => `AAMk${randomBytes(66).toString('base64url')}=`;

export const changeKey = (): string => randomBytes(12).toString('base64');
