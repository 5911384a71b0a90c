import { app } from '@azure/functions';
import { appFromEnv } from '../app-loader.ts';
import { httpHandler } from '../handlers.ts';

export const notificationsHandler = httpHandler(() => appFromEnv());

app.http('graphNotifications', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'notifications',
  handler: notificationsHandler,
});
