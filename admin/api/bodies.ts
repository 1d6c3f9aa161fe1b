/**
 * Every body the admin API answers, as a type (the request bodies are typed where they are
 * validated, server/schemas/validate.ts). Routes answer through `answer()`, so an answer that does
 * not match its documented shape does not compile; the OpenAPI document (openapi.ts) describes the
 * same shapes for clients.
 */
import type { Response } from 'express';
import type { AdminKeyRecord, AdminRole, AuditEntry, FlowId, ProcedureSummary, ProcedureVersion, TrustedIssuerRecord } from '../../server/store/types.ts';
import type { SigningKeyDescription } from '../../server/tokens/keys.ts';
import type { PublicClient } from '../../server/configuration/records.ts';
import type { CompileDiagnostic } from '../../sandbox/types.ts';
import type { LocalRunResult } from '../../server/runtime/local-runner.ts';
import type { ImportSummary } from '../../server/configuration/config-document.ts';
import type { ConfigDocument } from '../../server/schemas/validate.ts';
import type { ProcedureWarning } from '../../server/cli/authoring/lint.ts';

export type { PublicClient };

/** A page of a list (`?limit=&cursor=`); `next_cursor` is null on the last page. */
export interface PageBody<T> {
  items: T[];
  next_cursor: string | null;
}

/** GET /me. */
export interface CallerBody {
  actor: string;
  role: AdminRole;
}

/** A client created or replaced: its public view, with the secret once when the server generated it. */
export type ClientWrittenBody = PublicClient & { client_secret?: string };

/** POST /clients/{id}/rotate-secret: the new secret, shown this once. */
export interface SecretRotatedBody {
  client_id: string;
  client_secret: string;
}

export type TrustedIssuerBody = TrustedIssuerRecord;

/** POST /trusted-issuers/test-jwks. */
export type JwksTestBody =
  | { ok: true; keys: Array<{ kid: string | null; kty: string; alg: string | null; use: string | null }> }
  | { ok: false; problem: string };

export type ProcedureSummaryBody = ProcedureSummary;
/** GET /procedures/{id} and .../versions/{n}: the version with its source. */
export type ProcedureVersionBody = ProcedureVersion;
/** GET /procedures/{id}/versions: the history without sources. */
export type ProcedureHistoryItem = Omit<ProcedureVersion, 'source'> & { active: boolean };

/** What an upload or activation made active. */
export interface VersionSummaryBody {
  id: string;
  version: number;
  sha256: string;
  flow: FlowId;
}

/** PUT /procedures/{id}. */
export type UploadBody = VersionSummaryBody & { warnings: ProcedureWarning[] };

/** 422 invalid_procedure's details. */
export type CompileErrorDetails = CompileDiagnostic[];

/** POST /procedures/{id}/dry-run: what the token endpoint would answer, and what the procedure did. */
export interface DryRunBody {
  status: number;
  body: Record<string, unknown>;
  issued: Array<Pick<LocalRunResult['issued'][number], 'kind' | 'header' | 'claims'>>;
  logs: LocalRunResult['logs'];
  diagnostic: LocalRunResult['diagnostic'];
  corrections: NonNullable<LocalRunResult['corrections']>;
}

/** An admin key as every answer but its creation shows it: never the key nor its hash. */
export type AdminKeyBody = Pick<AdminKeyRecord, 'name' | 'role' | 'created_at'>;
/** POST /admin-keys: the key, the only time it is shown. */
export type AdminKeyCreatedBody = Pick<AdminKeyRecord, 'name' | 'role'> & { key: string };

export type SigningKeyBody = SigningKeyDescription;

/** POST /signing-keys/rotate. */
export interface RotationBody {
  kid: string;
  signs_from: number;
  pruned: string[];
}

export type AuditEntryBody = AuditEntry;
/** GET /config: the whole configuration; PUT /config answers what the import changed. */
export type ConfigDocumentBody = ConfigDocument;
export type ConfigImportBody = ImportSummary;

/** Answers `body` as JSON with `status`: the one way a route answers a success. */
export function answer<B>(res: Response, body: B, status: 200 | 201 = 200): void {
  res.status(status).json(body);
}
