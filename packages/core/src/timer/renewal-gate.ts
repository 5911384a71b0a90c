import { EnvReader, type Env } from '../config/env-reader.ts';
import { readRenewalAuth } from '../config/subscription-config.ts';
import { verifySchedulerToken, type SchedulerVerdict } from './scheduler-auth.ts';

/**
 * The renewal endpoint's caller check from the environment alone, before the app is built: an unauthenticated
 * call must not cost a secret fetch, client set-up and a Graph token, nor learn whether the configuration loads.
 * A renewal setting that is wrong is left to the app's own start-up, which names every problem in the logs.
 */
export async function verifyRenewalCaller(
  authorization: string | undefined,
  env: Env,
): Promise<SchedulerVerdict | { ok: false; status: 503; reason: string }> {
  const reader = new EnvReader(env, []);
  const auth = readRenewalAuth(reader);
  if (reader.problems.length)
    return { ok: false, status: 503, reason: 'graph2kafka is not configured; see the function logs' };
  return verifySchedulerToken(authorization, auth);
}
