import { createConnection, createServer, type Server, type Socket } from 'node:net';
import type { AddressInfo } from 'node:net';

/**
 * A loopback TCP proxy that can black-hole traffic: sockets stay open but nothing gets through either way, as in a
 * network partition (docs/reliability.md §Fault injection: pg-boss's half-open proxy). `restore()` lets new and
 * existing connections flow.
 */
export interface TcpProxy {
  port: number;
  blackhole(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(targetHost: string, targetPort: number): Promise<TcpProxy> {
  let isBlackholed = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: targetHost, port: targetPort });
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    client.on('data', (d) => {
      if (!isBlackholed) upstream.write(d);
    });
    upstream.on('data', (d) => {
      if (!isBlackholed) client.write(d);
    });
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as AddressInfo).port,
    blackhole: () => {
      isBlackholed = true;
    },
    restore: () => {
      isBlackholed = false;
    },
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
