/** What grant handlers share: configuration, the procedure runner, issuance and token validation. */
import type { ProcedureRef } from '../../sandbox/types.ts';
import type { IssuancePolicy } from './issuance.ts';
import type { ProcedureObserver, ProcedureRunner } from './procedure-runner.ts';
import type { PresentedTokenValidator } from '../tokens/presented-token-validator.ts';
import type { Logger } from '../logging.ts';
import type { TokenLifecycle } from './token-lifecycle.ts';

export interface TokenServicesConfig {
  maxTargets: number;
  /** TOKENPROC_TRUST_DOMAIN: the `aud` of transaction tokens. */
  trustDomain: string;
}

export interface TokenServices {
  config: TokenServicesConfig;
  runner: ProcedureRunner;
  validator: PresentedTokenValidator;
  /** Refresh tokens, opaque access tokens, lineage and revocation. */
  lifecycle: TokenLifecycle;
  logger: Logger;
  issuancePolicy(): IssuancePolicy;
  /** The active version of a named procedure. */
  lookupProcedure(id: string): ProcedureRef | undefined;
  nowSeconds(): number;
  /** Watches procedure runs besides the server log (the CLI and the admin dry run). */
  procedureObserver?: ProcedureObserver;
}
