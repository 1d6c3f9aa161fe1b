/**
 * How a comparison server starts and stops, the same for each: on an ephemeral loopback port,
 * announced as `{"message":"listening","port":N}` (what bench/lib/child-server.ts waits for), and
 * closed with its connections on SIGTERM.
 */
import type http from 'node:http';
import type { AddressInfo } from 'node:net';

export function listenForBench(server: http.Server): void {
  server.keepAliveTimeout = 5000;
  server.listen(0, '127.0.0.1', () => {
    process.stdout.write(`${JSON.stringify({ message: 'listening', port: (server.address() as AddressInfo).port })}\n`);
  });
  process.once('SIGTERM', () => {
    server.close(() => process.exit(0));
    server.closeAllConnections();
  });
}
