/**
 * OpenTelemetry tracing, in one place: started by the server process (each worker its own
 * provider and exporter), configured only through the standard `OTEL_*` variables, and off unless
 * they ask for it. Off, every helper below calls straight through: no tracer, no context manager,
 * no async hooks, so the hot path pays one null check.
 */
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from 'node:http';
import {
  context,
  INVALID_SPAN_CONTEXT,
  propagation,
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Span,
  type Tracer,
} from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler,
  AlwaysOnSampler,
  BatchSpanProcessor,
  ConsoleSpanExporter,
  ParentBasedSampler,
  TraceIdRatioBasedSampler,
  TracerProvider,
  type Sampler,
  type SpanExporter,
} from '@opentelemetry/sdk-trace';

export const DEFAULT_SERVICE_NAME = 'tokenproc';
const TRACER_NAME = 'tokenproc';

/** Where warnings about the configuration go (the server's logger). */
export interface TracingLog {
  warn(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
}

export interface Tracing {
  /** Exports what is still queued and stops; safe to call more than once. */
  shutdown(): Promise<void>;
}

type Env = Readonly<Record<string, string | undefined>>;

/** Set while tracing runs in this process; null means off, and every helper calls straight through. */
let tracer: Tracer | null = null;
let provider: TracerProvider | null = null;

/** What a helper hands its callback when tracing is off: accepts attributes and drops them. */
const NOOP_SPAN: Span = trace.wrapSpanContext(INVALID_SPAN_CONTEXT);

export function tracingEnabled(): boolean {
  return tracer !== null;
}

function envValue(env: Env, name: string): string | undefined {
  const value = env[name]?.trim();
  return value ? value : undefined;
}

function envNumber(env: Env, name: string): number | undefined {
  const value = envValue(env, name);
  if (value === undefined) return undefined;
  const parsed = Number(value);
  return Number.isFinite(parsed) && parsed >= 0 ? parsed : undefined;
}

/** Which exporter the `OTEL_*` variables ask for, or null for none (tracing stays off). */
export function tracesExporterKind(env: Env): 'otlp' | 'console' | null | { unknown: string } {
  if (envValue(env, 'OTEL_SDK_DISABLED')?.toLowerCase() === 'true') return null;
  const named = envValue(env, 'OTEL_TRACES_EXPORTER')
    ?.split(',')
    .map((s) => s.trim().toLowerCase())
    .find(Boolean);
  if (named === undefined) {
    // Naming an endpoint is asking for OTLP: the exporter's own default (otlp) would otherwise make
    // every server try to reach localhost:4318.
    return envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT') || envValue(env, 'OTEL_EXPORTER_OTLP_ENDPOINT') ? 'otlp' : null;
  }
  if (named === 'none') return null;
  if (named === 'otlp' || named === 'console') return named;
  return { unknown: named };
}

function samplerFrom(env: Env, log: TracingLog): Sampler {
  const name = envValue(env, 'OTEL_TRACES_SAMPLER')?.toLowerCase() ?? 'parentbased_always_on';
  const arg = envNumber(env, 'OTEL_TRACES_SAMPLER_ARG');
  const ratio = arg !== undefined && arg <= 1 ? arg : 1;
  switch (name) {
    case 'always_on':
      return new AlwaysOnSampler();
    case 'always_off':
      return new AlwaysOffSampler();
    case 'traceidratio':
      return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off':
      return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio':
      return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    case 'parentbased_always_on':
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
    default:
      log.warn('OTEL_TRACES_SAMPLER is not one this server knows; using parentbased_always_on', { sampler: name });
      return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

/**
 * Starts tracing when the `OTEL_*` variables ask for it; returns null (and installs nothing) when
 * they do not.
 */
export function startTracing(env: Env, log: TracingLog): Tracing | null {
  if (provider !== null) return { shutdown: stopTracing };
  const kind = tracesExporterKind(env);
  if (kind === null) return null;
  if (typeof kind === 'object') {
    log.warn('OTEL_TRACES_EXPORTER names an exporter this server does not have (otlp, console, none); tracing stays off', { exporter: kind.unknown });
    return null;
  }
  let exporter: SpanExporter;
  if (kind === 'console') {
    exporter = new ConsoleSpanExporter();
  } else {
    const protocol = envValue(env, 'OTEL_EXPORTER_OTLP_TRACES_PROTOCOL') ?? envValue(env, 'OTEL_EXPORTER_OTLP_PROTOCOL');
    // Only the JSON encoding is installed (the protobuf and gRPC exporters would double the
    // dependencies); a collector's OTLP/HTTP receiver accepts both encodings.
    if (protocol !== undefined && protocol !== 'http/json') {
      log.warn('only the OTLP http/json protocol is supported; traces are sent as http/json', { protocol });
    }
    // The exporter reads OTEL_EXPORTER_OTLP_{TRACES_,}ENDPOINT, _HEADERS, _TIMEOUT and the TLS files itself.
    exporter = new OTLPTraceExporter();
  }
  const serviceName = envValue(env, 'OTEL_SERVICE_NAME');
  // The environment (OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME) wins over the default name.
  const resource = resourceFromAttributes({ 'service.name': DEFAULT_SERVICE_NAME, 'process.pid': process.pid })
    .merge(detectResources({ detectors: [envDetector] }))
    .merge(serviceName ? resourceFromAttributes({ 'service.name': serviceName }) : null);
  const maxQueueSize = envNumber(env, 'OTEL_BSP_MAX_QUEUE_SIZE');
  const maxExportBatchSize = envNumber(env, 'OTEL_BSP_MAX_EXPORT_BATCH_SIZE');
  const scheduledDelayMillis = envNumber(env, 'OTEL_BSP_SCHEDULE_DELAY');
  const exportTimeoutMillis = envNumber(env, 'OTEL_BSP_EXPORT_TIMEOUT');
  const processor = new BatchSpanProcessor({
    exporter,
    ...(maxQueueSize !== undefined ? { maxQueueSize } : {}),
    ...(maxExportBatchSize !== undefined ? { maxExportBatchSize } : {}),
    ...(scheduledDelayMillis !== undefined ? { scheduledDelayMillis } : {}),
    ...(exportTimeoutMillis !== undefined ? { exportTimeoutMillis } : {}),
  });
  provider = new TracerProvider({ resource, sampler: samplerFrom(env, log), spanProcessors: [processor] });
  // Only now, with tracing asked for, is the AsyncLocalStorage context manager installed.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  tracer = provider.getTracer(TRACER_NAME);
  log.info('tracing on', { exporter: kind, service_name: serviceName ?? DEFAULT_SERVICE_NAME });
  return { shutdown: stopTracing };
}

async function stopTracing(): Promise<void> {
  const stopping = provider;
  if (stopping === null) return;
  provider = null;
  tracer = null;
  await stopping.shutdown().catch(() => undefined);
  trace.disable();
  propagation.disable();
  context.disable();
}

function end(span: Span, error: unknown): void {
  // The error's type only: a message may quote what it failed on (a claim, a statement's values).
  const type = error instanceof Error ? error.name : typeof error;
  span.addEvent('exception', { 'exception.type': type });
  span.setStatus({ code: SpanStatusCode.ERROR, message: type });
}

/** Runs `fn` in a child span of the active one; off, `fn` runs as it is. */
export async function inSpan<T>(name: string, attributes: Attributes, fn: (span: Span) => Promise<T>, kind: SpanKind = SpanKind.INTERNAL): Promise<T> {
  if (tracer === null) return fn(NOOP_SPAN);
  return tracer.startActiveSpan(name, { kind, attributes }, async (span) => {
    try {
      return await fn(span);
    } catch (error) {
      end(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/** The synchronous `inSpan` (signing). */
export function inSpanSync<T>(name: string, attributes: Attributes, fn: (span: Span) => T): T {
  if (tracer === null) return fn(NOOP_SPAN);
  return tracer.startActiveSpan(name, { attributes }, (span) => {
    try {
      return fn(span);
    } catch (error) {
      end(span, error);
      throw error;
    } finally {
      span.end();
    }
  });
}

/**
 * A span only inside a traced request: background work (the configuration and revocation polls)
 * would otherwise make a root trace every second.
 */
export function startChildSpan(name: string, attributes: Attributes, kind: SpanKind = SpanKind.CLIENT): Span | null {
  if (tracer === null || trace.getActiveSpan() === undefined) return null;
  return tracer.startSpan(name, { kind, attributes });
}

export function failSpan(span: Span, error: unknown): void {
  end(span, error);
}

/**
 * `fn` bound to the active trace context: for callbacks that arrive outside it (the sandbox calls
 * its host back from isolated-vm, where the async context is lost). Off, `fn` itself.
 */
export function bindToActiveContext<A extends unknown[], R>(fn: (...args: A) => R): (...args: A) => R {
  if (tracer === null) return fn;
  return context.bind(context.active(), fn);
}

/** Adds the active trace context (`traceparent`, `tracestate`) to outgoing request headers. */
export function withTraceHeaders(headers: Record<string, string>): Record<string, string> {
  if (tracer === null) return headers;
  const carrier: Record<string, string> = { ...headers };
  propagation.inject(context.active(), carrier);
  return carrier;
}

/**
 * The SERVER span of one endpoint request: a child of the caller's span when the request carries
 * `traceparent` (and `tracestate`), answered with a `traceparent` header naming this span, so the
 * caller can find the server's part of the trace. `fn` runs with the span active and may add
 * attributes; the span ends when `fn` has answered.
 */
export async function serverSpan(
  req: IncomingMessage & { headers: IncomingHttpHeaders },
  res: ServerResponse,
  route: string,
  fn: (span: Span) => Promise<void>,
): Promise<void> {
  if (tracer === null) return fn(NOOP_SPAN);
  const parent = propagation.extract(ROOT_CONTEXT, req.headers);
  const span = tracer.startSpan(
    `${req.method ?? 'POST'} ${route}`,
    { kind: SpanKind.SERVER, attributes: { 'http.request.method': req.method ?? 'POST', 'http.route': route, 'url.path': route } },
    parent,
  );
  const active = trace.setSpan(parent, span);
  const out: Record<string, string> = {};
  propagation.inject(active, out);
  if (out.traceparent) res.setHeader('traceparent', out.traceparent);
  try {
    await context.with(active, () => fn(span));
  } catch (error) {
    end(span, error);
    throw error;
  } finally {
    span.setAttribute('http.response.status_code', res.statusCode);
    if (res.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  }
}
