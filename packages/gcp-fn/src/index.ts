import { http } from '@google-cloud/functions-framework';
import { appFromEnv } from './app-loader.ts';
import { httpHandler } from './handlers.ts';
import { renewalHandler } from './renewal.ts';
import { installWireGuard } from './wire-guard.ts';

export { appFromEnv } from './app-loader.ts';
export { httpHandler, type AppProvider } from './handlers.ts';
export { renewalHandler } from './renewal.ts';
export { installWireGuard } from './wire-guard.ts';

// Before functions-framework creates its server (it loads this module first): bodies are bounded on the wire.
installWireGuard();

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
