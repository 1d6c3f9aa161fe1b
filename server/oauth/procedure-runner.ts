/**
 * Runs the procedure a client names for a flow (or the built-in default for that flow) in the
 * sandbox, and turns its outcome into a checked response or an OAuth error. Shared by every grant
 * and by the local runner, so the CLI and the admin dry-run behave exactly as the token endpoint.
 */
import type { ClientRecord, FlowId } from '../store/types.ts';
import type { ProcedureEngine, ProcedureHost, ProcedureInput, ProcedureOutcome, ProcedureRef, LogLevel } from '../../sandbox/types.ts';
import { fail, ok, oauthError, type Result } from './errors.ts';
import type { IssuedToken, IssuanceHost } from './issuance.ts';
import { finalizeTokenResponse } from './token-response.ts';
import type { Logger } from '../logging.ts';
import type { ServerMetrics } from '../metrics.ts';
import { loadDefaultProcedure } from '../../sandbox/default-procedures.ts';
import { bindToActiveContext, inSpan, tracingEnabled } from '../observability/tracing.ts';

export interface ProcedureDiagnostic {
  reason: string;
  message: string;
  line: number | null;
  column: number | null;
}

export interface ProcedureRunResult {
  response: Result<Record<string, unknown>>;
  issued: readonly IssuedToken[];
  /** Set when the procedure failed (not when it refused with an OAuth error): for authors, never for clients. */
  diagnostic: ProcedureDiagnostic | null;
}

/** A member of a procedure's response the server changed to match what was issued. */
export interface ResponseCorrection {
  member: string;
  /** What the procedure returned (null when it returned none). */
  returned: unknown;
  /** What the response carries (null when the member was removed). */
  sent: unknown;
}

/**
 * Who watches procedure runs besides the server log: the CLI and the admin dry run show the
 * procedure's log lines and what the server corrected in its response.
 */
export interface ProcedureObserver {
  /** The procedure's logger lines. */
  log?(level: LogLevel, message: string): void;
  /** After every run: what the server corrected in the procedure's response (empty when nothing, or no response). */
  ran?(corrections: readonly ResponseCorrection[]): void;
}

export interface ProcedureRunRequest {
  procedure: ProcedureRef;
  input: ProcedureInput;
  /** The request's issuance host: the procedure's issuers sign through it. */
  issuance: IssuanceHost;
  requestId: string;
  includeIssuedTokenType: boolean;
  /** The client asked for a refresh token as the issued token (token exchange). */
  refreshTokenRequested?: boolean;
  nowSeconds: () => number;
  observer?: ProcedureObserver | undefined;
}

/** How many distinct (procedure version, corrected members) pairs are remembered as already warned. */
const MAX_REMEMBERED_CORRECTIONS = 1000;

export class ProcedureRunner {
  private readonly engine: ProcedureEngine;
  private readonly logger: Logger;
  private readonly metrics: ServerMetrics | null;
  /**
   * A procedure whose response is corrected is corrected on every call (the downscoping procedure of
   * Curity's Implementing Token Exchange tutorial answers the subject token's scope, not the issued one): the first time per procedure version and set of members is a
   * warning, later ones are debug lines, so the log says it once instead of once per request.
   */
  private readonly warnedCorrections = new Set<string>();

  constructor(engine: ProcedureEngine, logger: Logger, metrics: ServerMetrics | null) {
    this.engine = engine;
    this.logger = logger;
    this.metrics = metrics;
  }

  /** The procedure a client runs for a flow; `lookup` resolves named procedures (active versions). */
  static procedureFor(client: ClientRecord, flow: FlowId, lookup: (id: string) => ProcedureRef | undefined): Result<ProcedureRef> {
    const id = client.procedures[flow];
    if (id === undefined) return ok(loadDefaultProcedure(flow));
    const ref = lookup(id);
    if (!ref) return fail(oauthError('server_error', 'The client names a token procedure that does not exist'));
    return ok(ref);
  }

  async run(request: ProcedureRunRequest): Promise<ProcedureRunResult> {
    const attributes = { 'tokenproc.procedure.id': request.procedure.id, 'tokenproc.procedure.sha256': request.procedure.sha256, 'tokenproc.procedure.flow': request.input.flow };
    return inSpan('tokenproc.procedure', attributes, async (span) => {
      const result = await this.runUntraced(request);
      if (span.isRecording()) {
        // What the procedure decided (ok, an OAuth error code, or why it failed); never its input or output.
        const outcome = result.response.ok ? 'ok' : (result.diagnostic?.reason ?? result.response.error.error);
        span.setAttributes({ 'tokenproc.procedure.outcome': outcome, 'tokenproc.procedure.tokens_issued': result.issued.length });
      }
      return result;
    });
  }

  private async runUntraced(request: ProcedureRunRequest): Promise<ProcedureRunResult> {
    let corrections: readonly ResponseCorrection[] = [];
    try {
      const result = await this.runAndCheck(request, (found) => {
        corrections = found;
      });
      return result;
    } finally {
      request.observer?.ran?.(corrections);
    }
  }

  private async runAndCheck(request: ProcedureRunRequest, reportCorrections: (corrections: readonly ResponseCorrection[]) => void): Promise<ProcedureRunResult> {
    const { procedure, input, issuance, requestId } = request;
    const procLog = { procedure_id: procedure.id, request_id: requestId };
    const started = process.hrtime.bigint();
    // The sandbox calls the host back from isolated-vm, outside this request's async context: bound
    // to it, the signing (and anything else the host does) stays in the procedure's span.
    const host: ProcedureHost = tracingEnabled()
      ? {
          initialize: bindToActiveContext((r: Parameters<ProcedureHost['initialize']>[0]) => issuance.initialize(r)),
          issue: bindToActiveContext((r: Parameters<ProcedureHost['issue']>[0]) => issuance.issue(r)),
          reset: () => issuance.reset(),
        }
      : issuance;
    const outcome: ProcedureOutcome = await this.engine.run(procedure, input, host, {
      requestId,
      log: (level, message) => {
        this.logger.log(level, message, { ...procLog, source: 'procedure' });
        request.observer?.log?.(level, message);
      },
    });
    this.metrics?.procedureDuration.observe({ flow: input.flow }, Number(process.hrtime.bigint() - started) / 1e9);
    this.metrics?.procedureRuns.inc({ flow: input.flow, outcome: outcome.kind === 'response' ? 'ok' : outcome.kind === 'oauth_error' ? outcome.error : outcome.reason });

    if (outcome.kind === 'oauth_error') {
      const { kind: _kind, ...error } = outcome;
      return { response: fail(error), issued: issuance.issued, diagnostic: null };
    }
    if (outcome.kind === 'failure') {
      // The engine has logged the failure with the procedure id, line and column.
      return {
        response: fail(oauthError('server_error', 'The token procedure failed')),
        issued: issuance.issued,
        diagnostic: {
          reason: outcome.reason,
          message: outcome.message,
          line: outcome.location?.line ?? null,
          column: outcome.location?.column ?? null,
        },
      };
    }
    let correctedMembers: readonly string[] = [];
    const response = finalizeTokenResponse(outcome.body, issuance.issued, {
      nowSeconds: request.nowSeconds(),
      includeIssuedTokenType: request.includeIssuedTokenType,
      refreshTokenRequested: request.refreshTokenRequested === true,
      warn: (message, corrected) => {
        correctedMembers = corrected;
        const key = `${procedure.id}\0${procedure.sha256}\0${corrected.join(',')}`;
        const first = !this.warnedCorrections.has(key);
        if (first) {
          if (this.warnedCorrections.size >= MAX_REMEMBERED_CORRECTIONS) this.warnedCorrections.clear();
          this.warnedCorrections.add(key);
        }
        this.logger.log(first ? 'warn' : 'debug', message, { ...procLog, corrected, repeated: !first });
      },
    });
    if (correctedMembers.length > 0 && response.ok) {
      const sent = response.value;
      reportCorrections(correctedMembers.map((member) => ({ member, returned: outcome.body[member] ?? null, sent: sent[member] ?? null })));
    }
    const diagnostic = response.ok ? null : { reason: 'invalid_result', message: response.error.description, line: null, column: null };
    return { response, issued: issuance.issued, diagnostic };
  }
}
