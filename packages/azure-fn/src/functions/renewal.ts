import { app, type InvocationContext, type Timer } from '@azure/functions';
import { appFromEnv, type AppProvider } from '../app-loader.ts';

/** The timer-triggered renewal: reconcile subscriptions; a run with errors fails, so it shows in monitoring. */
export function renewalTimer(getApp: AppProvider): (timer: Timer, context: InvocationContext) => Promise<void> {
  return async (timer, context) => {
    if (timer.isPastDue) context.warn('the renewal timer is running late');
    const { runRenewal } = await import('@graph2kafka/core');
    const report = await runRenewal(await getApp(), (line) => context.log(line));
    if (report.errors.length)
      throw new Error(
        `subscription renewal had ${report.errors.length} error(s): ${report.errors.slice(0, 5).join('; ')}`,
      );
  };
}

export const renewalTimerHandler = renewalTimer(() => appFromEnv());

// NCRONTAB from the app setting G2K_RENEWAL_SCHEDULE, e.g. "0 */30 * * * *" (every 30 minutes).
app.timer('subscriptionRenewal', { schedule: '%G2K_RENEWAL_SCHEDULE%', handler: renewalTimerHandler });
