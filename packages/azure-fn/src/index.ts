export { appFromEnv, type AppProvider } from './app-loader.ts';
export { httpHandler } from './handlers.ts';
export { notificationsHandler } from './functions/notifications.ts';
export { lifecycleHandler } from './functions/lifecycle.ts';
export { renewalTimer, renewalTimerHandler } from './functions/renewal.ts';
