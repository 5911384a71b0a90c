/** The `error.code` of a Graph error answer, if it has one. */
export function graphErrorCode(body: unknown): string | undefined {
  return (body as { error?: { code?: string } } | undefined)?.error?.code;
}

/**
 * What a read's answer says of the item: `gone` only when Graph answered 404 with one of the kind's gone codes
 * ("no such item"); an unknown, disabled or moved mailbox (ErrorInvalidUser, MailboxNotEnabledForRESTAPI,
 * ResourceNotFound …) says nothing about the item and must not tombstone it: `unreachable`. Any other status:
 * `undefined`, the caller's to judge.
 */
export function judgeNotFound(
  answer: { status: number; body?: unknown },
  goneCodes: readonly string[],
): 'gone' | 'unreachable' | undefined {
  if (answer.status !== 404) return undefined;
  const code = graphErrorCode(answer.body);
  return code && goneCodes.includes(code) ? 'gone' : 'unreachable';
}
