import { http } from '@google-cloud/functions-framework';
import { appFromEnv } from './app-loader.ts';
import { httpHandler } from './handlers.ts';

export { appFromEnv } from './app-loader.ts';
export { httpHandler, type AppProvider } from './handlers.ts';

/** Entry points: `--entry-point=graphNotifications` and `--entry-point=graphLifecycle`. */
http(
  'graphNotifications',
  httpHandler('notifications', () => appFromEnv()),
);
http(
  'graphLifecycle',
  httpHandler('lifecycle', () => appFromEnv()),
);
