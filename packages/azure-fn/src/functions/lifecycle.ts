import { app } from '@azure/functions';
import { appFromEnv } from '../app-loader.ts';
import { httpHandler } from '../handlers.ts';

export const lifecycleHandler = httpHandler(() => appFromEnv());

app.http('graphLifecycle', {
  methods: ['POST'],
  authLevel: 'anonymous',
  route: 'lifecycle',
  handler: lifecycleHandler,
});
