import type { ReadRecord } from './topic-reader.ts';
import { recordValue as value } from './topic-reader.ts';
import type { TeamsOutcome } from './teams-scenario.ts';

/**
 * What the Teams scenario must leave on the topics, whichever adapter served it: each change as a record of its
 * key, the soft deletes marked and kept, the purged reply tombstoned, rich messages from their notifications and
 * basic ones read. Returns the problems found (empty: as documented).
 */
export function teamsProblems(outcome: TeamsOutcome): string[] {
  const problems: string[] = [];
  // Consecutive records of one state count once: a redelivery or a repair may repeat what is already there.
  const shapes = (records: ReadRecord[]) => collapse(raw(records));
  const raw = (records: ReadRecord[]) =>
    records.map((r) =>
      r.value === null ? 'tombstone' : `${String(value(r).changeType)}${value(r).softDeleted ? '(soft)' : ''}`,
    );
  const expect = (what: string, got: string[], want: string[]): void => {
    if (JSON.stringify(got) !== JSON.stringify(want))
      problems.push(`${what}: ${got.join(', ')} (expected ${want.join(', ')})`);
  };
  const { root, reply, chatMessage } = outcome.records;
  expect('channel message', shapes(root), ['created', 'deleted(soft)']);
  expect('reply', shapes(reply), ['created', 'updated', 'deleted', 'tombstone']);
  expect('chat message', shapes(chatMessage), ['created', 'updated', 'deleted(soft)']);
  const edited = value(reply.find((r) => r.value !== null && value(r).changeType === 'updated')).message as
    { body?: { content?: string } } | undefined;
  if (edited?.body?.content !== 'ok, at 5') problems.push(`the reply's edit holds ${JSON.stringify(edited?.body)}`);
  if (value(reply[0]).replyToId !== outcome.keys.root.split('/').pop()) problems.push('the reply names no root');
  // A rich subscription's created and updated come from their notifications; a basic one's from a read.
  const carried = (records: ReadRecord[], mode: 'basic' | 'rich', what: string): void => {
    if (!records.slice(0, 2).every((r) => (value(r).fromNotification === true) === (mode === 'rich')))
      problems.push(
        `the ${mode} ${what} was ${mode === 'rich' ? 'read instead of taken from its notification' : 'not read'}`,
      );
  };
  carried(chatMessage, outcome.modes.chat, 'chat message');
  carried(root.slice(0, 1), outcome.modes.channel, 'channel message');
  if (root.at(-1)?.headers['g2k-soft-deleted'] !== 'true')
    problems.push('the soft delete has no g2k-soft-deleted header');
  return problems;
}

const collapse = (list: string[]): string[] => list.filter((s, i) => i === 0 || s !== list[i - 1]);
