export { appFromEnv } from './app-loader.ts';
export { httpHandler, type AppProvider } from './handlers.ts';
export { notificationsHandler } from './functions/notifications.ts';
export { lifecycleHandler } from './functions/lifecycle.ts';
