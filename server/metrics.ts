/** Prometheus metrics (prom-client), one registry per server instance. */
import client from 'prom-client';
import type { ProcedureEngine } from '../sandbox/types.ts';

export interface ServerMetrics {
  registry: client.Registry;
  tokenRequests: client.Counter<'grant_type' | 'outcome'>;
  tokenLatency: client.Histogram<'grant_type'>;
  procedureRuns: client.Counter<'flow' | 'outcome'>;
  procedureDuration: client.Histogram<'flow'>;
  /** Per client: clients are registered by admins, so the label's values stay few. */
  clientTokenRequests: client.Counter<'client_id' | 'grant_type' | 'outcome'>;
  clientAuthFailures: client.Counter<'method' | 'outcome'>;
  adminAuthFailures: client.Counter<'outcome'>;
  jwksFetchFailures: client.Counter<'trusted_issuer' | 'problem'>;
  storeOperationDuration: client.Histogram<'operation' | 'outcome'>;
}

export function createMetrics(): ServerMetrics {
  const registry = new client.Registry();
  client.collectDefaultMetrics({ register: registry });
  const tokenRequests = new client.Counter({
    name: 'tokenproc_token_requests_total',
    help: 'Token endpoint requests by grant type and outcome (ok or the OAuth error code)',
    labelNames: ['grant_type', 'outcome'] as const,
    registers: [registry],
  });
  const tokenLatency = new client.Histogram({
    name: 'tokenproc_token_request_duration_seconds',
    help: 'Token endpoint latency by grant type',
    labelNames: ['grant_type'] as const,
    buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1],
    registers: [registry],
  });
  const procedureRuns = new client.Counter({
    name: 'tokenproc_procedure_runs_total',
    help: 'Procedure runs by flow and outcome',
    labelNames: ['flow', 'outcome'] as const,
    registers: [registry],
  });
  const procedureDuration = new client.Histogram({
    name: 'tokenproc_procedure_duration_seconds',
    help: 'Time spent running token procedures in the sandbox (including host calls such as signing)',
    labelNames: ['flow'] as const,
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1],
    registers: [registry],
  });
  const clientTokenRequests = new client.Counter({
    name: 'tokenproc_client_token_requests_total',
    help: 'Token endpoint requests of authenticated clients by client, grant type and outcome (ok or the OAuth error code)',
    labelNames: ['client_id', 'grant_type', 'outcome'] as const,
    registers: [registry],
  });
  const clientAuthFailures = new client.Counter({
    name: 'tokenproc_client_auth_failures_total',
    help: 'Refused client authentications at the token, introspection and revocation endpoints, by method and outcome (refused: 401; throttled: 429)',
    labelNames: ['method', 'outcome'] as const,
    registers: [registry],
  });
  const adminAuthFailures = new client.Counter({
    name: 'tokenproc_admin_auth_failures_total',
    help: 'Refused admin API keys by outcome (refused: 401; throttled: 429)',
    labelNames: ['outcome'] as const,
    registers: [registry],
  });
  const jwksFetchFailures = new client.Counter({
    name: 'tokenproc_jwks_fetch_failures_total',
    help: "Failed fetches of a trusted issuer's JWKS by issuer and problem",
    labelNames: ['trusted_issuer', 'problem'] as const,
    registers: [registry],
  });
  const storeOperationDuration = new client.Histogram({
    name: 'tokenproc_store_operation_duration_seconds',
    help: 'Store operations by operation and outcome (ok, unavailable, error)',
    labelNames: ['operation', 'outcome'] as const,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1, 5],
    registers: [registry],
  });
  return {
    registry,
    tokenRequests,
    tokenLatency,
    procedureRuns,
    procedureDuration,
    clientTokenRequests,
    clientAuthFailures,
    adminAuthFailures,
    jwksFetchFailures,
    storeOperationDuration,
  };
}

/**
 * Gauges read from the sandbox at scrape time: live isolates, and (procedure, client) pairs by the
 * path their calls take (promoted: synchronous; probation and demoted: the isolate's own thread).
 */
export function observeSandbox(metrics: ServerMetrics, engine: ProcedureEngine): void {
  new client.Gauge({
    name: 'tokenproc_sandbox_isolates',
    help: 'Live procedure isolates',
    registers: [metrics.registry],
    collect() {
      this.set(engine.stats().isolates);
    },
  });
  new client.Gauge({
    name: 'tokenproc_sandbox_procedure_paths',
    help: 'Procedure versions (per client) by the path their calls take: promoted (synchronous), probation or demoted (own thread)',
    labelNames: ['path'] as const,
    registers: [metrics.registry],
    collect() {
      const stats = engine.stats();
      this.set({ path: 'promoted' }, stats.promoted);
      this.set({ path: 'probation' }, stats.probation);
      this.set({ path: 'demoted' }, stats.demoted);
    },
  });
  new client.Gauge({
    name: 'tokenproc_sandbox_suspended',
    help: 'Procedure versions (per client) suspended after repeated limit failures: their calls fail at once',
    registers: [metrics.registry],
    collect() {
      this.set(engine.stats().suspended);
    },
  });
}
