import net from 'node:net';
import { KafkaLocalError } from './errors.ts';

/** Fails with a clear message when `port` on `host` is taken; `setting` names the variable that moves it. */
export async function requirePortFree(host: string, port: number, setting: string): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    const server = net.createServer();
    server.once('error', (error: NodeJS.ErrnoException) => {
      const why =
        error.code === 'EADDRINUSE' ? 'is already in use' : `cannot be opened (${error.code ?? error.message})`;
      reject(
        new KafkaLocalError(
          'PORT_IN_USE',
          `port ${port} on ${host} ${why}, so the local Kafka broker cannot listen there. Stop what holds it (\`ss -ltnp 'sport = :${port}'\` shows it; \`pnpm kafka stop\` if it is an earlier broker of ours), or set ${setting} to a free port.`,
        ),
      );
    });
    server.listen({ host, port, exclusive: true }, () => server.close(() => resolve()));
  });
}
