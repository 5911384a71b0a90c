import type { Principal, SimUser } from '../types.ts';

/** What a Graph route knows about the call it serves. */
export interface GraphContext {
  principal: Principal;
  /** The mailbox named by a `/users/{id}/…` path, resolved in the caller's tenant. */
  user: SimUser | undefined;
  graphBase: string;
  batchId: string | undefined;
}
