/** What every grant handler receives and returns; the token endpoint dispatches by grant_type. */
import type { ClientRecord, GrantType } from '../../store/types.ts';
import type { ProcedureRequestView } from '../../../sandbox/types.ts';
import type { FormParams } from '../../http/form.ts';
import type { Result } from '../errors.ts';
import type { ProcedureDiagnostic } from '../procedure-runner.ts';
import type { IssuedToken } from '../issuance.ts';

export interface GrantRequest {
  client: ClientRecord;
  params: FormParams;
  requestId: string;
  /** The request as procedures see it (credentials removed). */
  view: ProcedureRequestView;
}

export interface GrantOutcome {
  response: Result<Record<string, unknown>>;
  issued: readonly IssuedToken[];
  diagnostic: ProcedureDiagnostic | null;
}

export interface GrantHandler {
  readonly grantType: GrantType;
  /**
   * Parameters this grant accepts more than once (as node-oidc-provider's grants declare theirs);
   * any other repeated parameter is invalid_request. A subset of REPEATABLE_PARAMETERS.
   */
  readonly repeatableParameters: ReadonlySet<string>;
  handle(request: GrantRequest): Promise<GrantOutcome>;
}
