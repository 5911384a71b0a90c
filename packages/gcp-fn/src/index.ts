import { http } from '@google-cloud/functions-framework';
import { appFromEnv } from './app-loader.ts';
import { httpHandler } from './handlers.ts';
import { renewalHandler } from './renewal.ts';

export { appFromEnv } from './app-loader.ts';
export { httpHandler, type AppProvider } from './handlers.ts';
export { renewalHandler } from './renewal.ts';

/** Entry points: graphNotifications, graphLifecycle, and subscriptionRenewal (private; Cloud Scheduler). */
http(
  'graphNotifications',
  httpHandler(() => appFromEnv()),
);
http(
  'graphLifecycle',
  httpHandler(() => appFromEnv()),
);
http(
  'subscriptionRenewal',
  renewalHandler(() => appFromEnv()),
);
