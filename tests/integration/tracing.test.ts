/**
 * OpenTelemetry tracing on a real `tokenproc serve`: with the OTLP endpoint set, a token exchange
 * carrying `traceparent` is exported (OTLP/HTTP JSON, to a collector in this file) as a SERVER
 * span that continues the caller's trace, with the client authentication, presented-token
 * validation, procedure and signing spans beneath it; the response names the server span in its
 * own `traceparent`; the JWKS fetch carries the trace on; no token or secret is in any span.
 * Without OTEL_* variables nothing is exported and no `traceparent` is answered.
 */
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createTestIdp, type TestIdp } from '../helpers/idp.ts';
import { AT_TYPE, clientBody, startTestServer, TOKEN_EXCHANGE, type TestServer } from '../helpers/server.ts';

const SECRET = 'tracing-secret-0123456789abcdef';
const CALLER_TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CALLER_SPAN_ID = '00f067aa0ba902b7';

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}
interface OtlpSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes?: OtlpAttribute[];
}
interface OtlpExport {
  resourceSpans?: Array<{ resource?: { attributes?: OtlpAttribute[] }; scopeSpans?: Array<{ spans?: OtlpSpan[] }> }>;
}

/** A collector (POST /v1/traces, JSON) and an issuer's JWKS (GET /jwks), in one test server. */
class Collector {
  readonly exports: OtlpExport[] = [];
  readonly jwksTraceparents: Array<string | undefined> = [];
  readonly raw: string[] = [];
  private server: http.Server | null = null;
  origin = '';

  async start(jwks: unknown): Promise<void> {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (req.method === 'GET' && req.url === '/jwks') {
          const given = req.headers.traceparent;
          this.jwksTraceparents.push(typeof given === 'string' ? given : undefined);
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(jwks));
          return;
        }
        const text = Buffer.concat(chunks).toString('utf8');
        this.raw.push(text);
        this.exports.push(JSON.parse(text) as OtlpExport);
        res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server?.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  spans(): OtlpSpan[] {
    return this.exports.flatMap((e) => (e.resourceSpans ?? []).flatMap((r) => (r.scopeSpans ?? []).flatMap((s) => s.spans ?? [])));
  }

  async stop(): Promise<void> {
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }
}

function attribute(span: OtlpSpan, key: string): unknown {
  const found = span.attributes?.find((a) => a.key === key);
  return found ? Object.values(found.value)[0] : undefined;
}

async function waitFor<T>(what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

async function setUp(server: TestServer, collector: Collector | null, idp: TestIdp): Promise<void> {
  const registrations = [
    server.admin('PUT', '/trusted-issuers/idp', collector ? { issuer: idp.issuer, jwks_uri: `${collector.origin}/jwks` } : { issuer: idp.issuer, jwks: idp.jwks }),
    server.admin('PUT', '/clients/api-b', clientBody({ client_secret: SECRET, scope: 'read write', audiences: ['https://api.example.com'] })),
  ];
  for (const result of await Promise.all(registrations)) expect([200, 201]).toContain(result.status);
}

describe('tracing on (OTLP/HTTP JSON)', () => {
  let server: TestServer;
  let idp: TestIdp;
  const collector = new Collector();

  beforeAll(async () => {
    idp = await createTestIdp();
    await collector.start(idp.jwks);
    server = await startTestServer({
      env: {
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: `${collector.origin}/v1/traces`,
        OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/json',
        OTEL_BSP_SCHEDULE_DELAY: '100',
        OTEL_SERVICE_NAME: 'tokenproc-under-test',
      },
    });
    await setUp(server, collector, idp);
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    await collector.stop();
  });

  it('continues the caller trace through authentication, validation, procedure and signing, and answers traceparent', async () => {
    const subject = await idp.mint({ sub: 'alice', aud: 'api-b', client_id: 'web-app', scope: 'read write' });
    const result = await server.token(
      { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: AT_TYPE },
      { id: 'api-b', secret: SECRET },
      { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01`, tracestate: 'vendor=opaque' },
    );
    expect(result.status).toBe(200);
    const issued = String(result.body.access_token);

    const answered = result.headers.get('traceparent');
    expect(answered).toMatch(new RegExp(`^00-${CALLER_TRACE_ID}-[0-9a-f]{16}-01$`));
    const serverSpanId = String(answered).split('-')[2] ?? '';

    // The JWKS fetch carried the same trace on.
    expect(collector.jwksTraceparents.length).toBeGreaterThan(0);
    expect(collector.jwksTraceparents[0]).toMatch(new RegExp(`^00-${CALLER_TRACE_ID}-[0-9a-f]{16}-01$`));

    const names = ['tokenproc.client_authentication', 'tokenproc.presented_token_validation', 'tokenproc.procedure', 'tokenproc.sign'];
    const spans = await waitFor('the exported spans', () => {
      const all = collector.spans().filter((s) => s.traceId === CALLER_TRACE_ID);
      const serverSpan = all.find((s) => s.spanId === serverSpanId);
      return serverSpan && names.every((n) => all.some((s) => s.name === n)) ? all : undefined;
    }).catch((error: unknown) => {
      throw new Error(`${String(error)}; exported: ${collector.spans().map((s) => `${s.name}@${s.traceId}`).join(', ')}`);
    });

    const byId = new Map(spans.map((s) => [s.spanId, s]));
    const serverSpan = byId.get(serverSpanId);
    expect(serverSpan).toMatchObject({ name: 'POST /oauth/v2/oauth-token', kind: 2, parentSpanId: CALLER_SPAN_ID });
    expect(serverSpan && attribute(serverSpan, 'oauth.grant_type')).toBe(TOKEN_EXCHANGE);
    expect(serverSpan && attribute(serverSpan, 'oauth.client_id')).toBe('api-b');
    expect(serverSpan && attribute(serverSpan, 'oauth.outcome')).toBe('ok');
    expect(serverSpan && attribute(serverSpan, 'http.response.status_code')).toBe(200);

    /** The chain of parents up to the server span. */
    const descendsFromServer = (span: OtlpSpan): boolean => {
      for (let at: OtlpSpan | undefined = span, depth = 0; at && depth < 20; at = at.parentSpanId ? byId.get(at.parentSpanId) : undefined, depth++) {
        if (at.parentSpanId === serverSpanId) return true;
      }
      return false;
    };
    for (const name of names) {
      const span = spans.find((s) => s.name === name);
      expect({ name, descends: span ? descendsFromServer(span) : false }).toEqual({ name, descends: true });
    }
    const procedure = spans.find((s) => s.name === 'tokenproc.procedure');
    expect(procedure && attribute(procedure, 'tokenproc.procedure.flow')).toBe('oauth-token-oauth-token-exchange');
    expect(procedure && attribute(procedure, 'tokenproc.procedure.outcome')).toBe('ok');
    const validation = spans.find((s) => s.name === 'tokenproc.presented_token_validation');
    expect(validation && attribute(validation, 'tokenproc.token.status')).toBe('valid');

    const resource = collector.exports[0]?.resourceSpans?.[0]?.resource?.attributes?.find((a) => a.key === 'service.name');
    expect(resource?.value).toEqual({ stringValue: 'tokenproc-under-test' });

    // No token, secret or assertion value in anything exported.
    const everything = collector.raw.join('\n');
    for (const value of [subject, issued, SECRET, ...subject.split('.'), ...issued.split('.')]) expect(everything.includes(value)).toBe(false);
  });

  it('traces introspection and revocation as SERVER spans', async () => {
    const traceId = 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
    const headers = {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`api-b:${SECRET}`).toString('base64')}`,
      traceparent: `00-${traceId}-bbbbbbbbbbbbbbbb-01`,
    };
    for (const path of ['/oauth/v2/oauth-introspect', '/oauth/v2/oauth-revoke']) {
      const response = await fetch(`${server.origin}${path}`, { method: 'POST', headers, body: 'token=not-a-real-token-value' });
      expect(response.headers.get('traceparent')).toMatch(new RegExp(`^00-${traceId}-`));
    }
    await waitFor('introspection and revocation spans', () => {
      const names = collector.spans().filter((s) => s.traceId === traceId && s.kind === 2).map((s) => s.name);
      return names.includes('POST /oauth/v2/oauth-introspect') && names.includes('POST /oauth/v2/oauth-revoke') ? names : undefined;
    });
    // Store operations inside a request (the opaque-token lookup of the introspection) are spans of its trace.
    const stored = await waitFor('a store span', () => collector.spans().find((s) => s.traceId === traceId && s.name.startsWith('store.'))).catch((error: unknown) => {
      throw new Error(`${String(error)}; exported: ${collector.spans().map((s) => `${s.name}@${s.traceId}`).join(', ')}`);
    });
    expect(attribute(stored, 'db.operation.name')).toBe(stored.name.slice('store.'.length));
    expect(collector.raw.join('\n').includes('not-a-real-token-value')).toBe(false);
  });
});

describe('tracing off (no OTEL_* variables)', () => {
  let server: TestServer;
  let idp: TestIdp;
  const collector = new Collector();

  beforeAll(async () => {
    idp = await createTestIdp();
    await collector.start(idp.jwks);
    // The test runner's own environment may carry OTEL_*: none reaches this server.
    const cleared = Object.fromEntries(Object.keys(process.env).filter((k) => k.startsWith('OTEL_')).map((k) => [k, '']));
    server = await startTestServer({ env: cleared });
    await setUp(server, null, idp);
  }, 30_000);

  afterAll(async () => {
    await server?.stop();
    await collector.stop();
  });

  it('exports nothing and answers no traceparent', async () => {
    const subject = await idp.mint({ sub: 'alice', aud: 'api-b', client_id: 'web-app', scope: 'read write' });
    const result = await server.token(
      { grant_type: TOKEN_EXCHANGE, subject_token: subject, subject_token_type: AT_TYPE },
      { id: 'api-b', secret: SECRET },
      { traceparent: `00-${CALLER_TRACE_ID}-${CALLER_SPAN_ID}-01` },
    );
    expect(result.status).toBe(200);
    expect(result.headers.get('traceparent')).toBeNull();
    await new Promise((r) => setTimeout(r, 300));
    expect(collector.exports).toHaveLength(0);
    expect(server.output()).not.toContain('tracing on');
  });
});
