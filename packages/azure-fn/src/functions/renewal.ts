import { app, type InvocationContext, type Timer } from '@azure/functions';
import { renewalTimerEntry } from '@graph2kafka/core/http';
import { appFromEnv, type AppProvider } from '../app-loader.ts';

/** The timer-triggered renewal: reconcile subscriptions; a run with errors fails, so it shows in monitoring. */
export function renewalTimer(getApp: AppProvider): (timer: Timer, context: InvocationContext) => Promise<void> {
  return async (timer, context) => {
    if (timer.isPastDue) context.warn('the renewal timer is running late');
    await renewalTimerEntry(getApp, (line) => context.log(line));
  };
}

export const renewalTimerHandler = renewalTimer(() => appFromEnv());

// NCRONTAB from the app setting G2K_RENEWAL_SCHEDULE, e.g. "0 */30 * * * *" (every 30 minutes).
app.timer('subscriptionRenewal', { schedule: '%G2K_RENEWAL_SCHEDULE%', handler: renewalTimerHandler });
