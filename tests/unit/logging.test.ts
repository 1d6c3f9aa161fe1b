/** Logging: masking wherever a secret could appear, and disabled levels skipped before formatting. */
import { describe, expect, it } from '@jest/globals';
import { Writable } from 'node:stream';
import { createLogger, MASK } from '../../server/logging.ts';

function capture(level: string): { logger: ReturnType<typeof createLogger>; lines: () => Array<Record<string, unknown>> } {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(String(chunk));
      callback();
    },
  });
  const logger = createLogger({ level, stream });
  return { logger, lines: () => chunks.join('').split('\n').filter(Boolean).map((l) => JSON.parse(l) as Record<string, unknown>) };
}

describe('createLogger', () => {
  it('masks sensitive members at any depth and token-like parameters in messages', async () => {
    const { logger, lines } = capture('info');
    logger.info('body subject_token=eyJabc.def.ghi&scope=a Authorization: Basic dXNlcjpwYXNz', {
      client_secret: 's3cret',
      nested: { actor_token: 'tok', list: [{ access_token: 'at' }], keep: 'visible' },
    });
    await new Promise((r) => setImmediate(r));
    const [line] = lines();
    const text = JSON.stringify(line);
    for (const secret of ['s3cret', 'eyJabc', 'dXNlcjpwYXNz', '"tok"', '"at"']) expect(text).not.toContain(secret);
    expect(line).toMatchObject({ client_secret: MASK, nested: { actor_token: MASK, keep: 'visible' } });
  });

  it('skips disabled levels, also through log() and child loggers, and keeps child metadata', async () => {
    const { logger, lines } = capture('warn');
    logger.info('hidden');
    logger.log('debug', 'hidden too');
    logger.log({ level: 'info', message: 'hidden as well' });
    const child = logger.child({ request_id: 'r-1' });
    child.info('hidden child');
    child.warn('shown', { client_secret: 'x' });
    logger.error('shown too');
    await new Promise((r) => setImmediate(r));
    expect(lines().map((l) => l.message)).toEqual(['shown', 'shown too']);
    expect(lines()[0]).toMatchObject({ request_id: 'r-1', client_secret: MASK, level: 'warn' });
  });
});
