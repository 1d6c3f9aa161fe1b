/**
 * Connection bounds on a real `tokenproc serve`: a connection that never sends its headers is
 * closed after TOKENPROC_HEADERS_TIMEOUT, one that sends its body too slowly after
 * TOKENPROC_REQUEST_TIMEOUT, connections past TOKENPROC_MAX_CONNECTIONS are refused, and real
 * requests keep being answered throughout.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import net from 'node:net';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let port: number;

beforeAll(async () => {
  server = await startTestServer({ env: { TOKENPROC_HEADERS_TIMEOUT: '1', TOKENPROC_REQUEST_TIMEOUT: '2', TOKENPROC_MAX_CONNECTIONS: '20' } });
  port = Number(new URL(server.origin).port);
}, 30_000);

afterAll(async () => {
  await server?.stop();
});

/** Opens a connection and resolves how long it stayed open (ms), once the server closes it. */
function held(socket: net.Socket): Promise<number> {
  const opened = performance.now();
  return new Promise((resolve) => {
    socket.on('error', () => undefined);
    socket.on('close', () => resolve(performance.now() - opened));
    // Read whatever the server sends (a 408), so that its close is seen.
    socket.resume();
  });
}

function connect(): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => resolve(socket));
    socket.once('error', reject);
  });
}

describe('connection bounds', () => {
  it('closes a connection that sends no headers within the headers timeout', async () => {
    const socket = await connect();
    const closedAfter = held(socket);
    socket.write('POST /oauth/v2/oauth-token HTTP/1.1\r\nHost: x\r\n'); // never finishes its headers
    const ms = await closedAfter;
    expect(ms).toBeGreaterThan(900);
    expect(ms).toBeLessThan(4000);
  });

  it('cuts a request whose body arrives too slowly at the request timeout', async () => {
    const socket = await connect();
    const closedAfter = held(socket);
    let answer = '';
    socket.on('data', (chunk: Buffer) => (answer += chunk.toString()));
    socket.write('POST /oauth/v2/oauth-token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\n');
    const drip = setInterval(() => socket.writable && socket.write('a'), 200);
    try {
      const ms = await closedAfter;
      expect(ms).toBeGreaterThan(1900);
      expect(ms).toBeLessThan(5000);
      // Node answers 408 Request Timeout before closing.
      expect(answer).toMatch(/^HTTP\/1\.1 408/);
    } finally {
      clearInterval(drip);
    }
  });

  it('refuses connections past the maximum, and serves again once they are gone', async () => {
    const sockets = await Promise.all(Array.from({ length: 20 }, () => connect()));
    const closedAfter = sockets.map(held);
    // The 21st is accepted by the kernel and closed by the server at once.
    const extra = await connect();
    const extraHeld = await held(extra);
    expect(extraHeld).toBeLessThan(1000);
    // The silent ones go at the headers timeout; then real requests are answered again.
    await Promise.all(closedAfter);
    const health = await fetch(`${server.origin}/healthz`);
    expect(health.status).toBe(200);
  });

  it('keeps answering real requests while silent connections wait', async () => {
    const silent = await Promise.all(Array.from({ length: 10 }, () => connect()));
    const closed = silent.map(held);
    const token = await server.token({ grant_type: 'client_credentials' });
    expect(token.status).toBe(401); // answered (no client credentials), not left waiting
    await Promise.all(closed);
  });
});
