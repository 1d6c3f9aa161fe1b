/**
 * /admin/api/v1/trusted-issuers: foreign issuers whose JWTs are accepted as subject or actor
 * tokens; and a test of a key set (by URL or inline) before it is saved.
 */
import { Router } from 'express';
import { trustedIssuerRecordFrom } from '../../server/configuration/records.ts';
import { validateTrustedIssuerBody, validateTrustedIssuerJwksTestBody } from '../../server/schemas/validate.ts';
import type { TrustedIssuerRecord } from '../../server/store/types.ts';
import { fetchJwks, jwksDocumentKeys, MAX_REMOTE_JWKS_KEYS, type JwksFetchOutcome } from '../../server/tokens/remote-jwks.ts';
import { DEFAULT_JWKS_FETCH_TIMEOUT_MS, DEFAULT_JWKS_MAX_RESPONSE_BYTES } from '../../server/tokens/presented-token-validator.ts';
import { actorOf, param, preconditionOf, refuseInvalidId, route, sendAdminError, sendWithEtag, withoutReadOnly } from './http.ts';
import type { AdminContext } from './context.ts';
import { fail, ok } from '../../sandbox/protocol.ts';
import { answerList } from './pagination.ts';
import { answer, type JwksTestBody, type TrustedIssuerBody } from './bodies.ts';
import { patchResource, type PatchBuild } from './patch.ts';

/** Members a trusted issuer's GET shows that the server sets itself. */
const READ_ONLY = ['created_at', 'updated_at'];

/** A PUT body (or a merged PATCH document) as the record to store. */
function buildTrustedIssuer(id: string, body: unknown, existing: TrustedIssuerRecord | null): PatchBuild<TrustedIssuerRecord> {
  const validated = validateTrustedIssuerBody(withoutReadOnly(body, READ_ONLY));
  if (!validated.ok) return validated;
  if (validated.value.id !== undefined && validated.value.id !== id) return fail({ message: 'id in the body differs from the one in the path', field: '/id' });
  return ok({ record: trustedIssuerRecordFrom(id, validated.value, existing) });
}

/** What the JWKS test reports of a key: never more than these public members. */
interface TestedKey {
  kid: string | null;
  kty: string;
  alg: string | null;
  use: string | null;
}

const KEY_TYPES = ['RSA', 'EC', 'OKP'];
const KIB = 1024;

/** Why a key set is unusable, in a few words an admin can act on. */
function problemText(outcome: Extract<JwksFetchOutcome, { ok: false }>): string {
  switch (outcome.problem) {
    case 'timeout':
      return `timeout: no complete answer within ${DEFAULT_JWKS_FETCH_TIMEOUT_MS / 1000} s`;
    case 'network':
      return 'unreachable: the connection failed, or the server answered with a redirect (redirects are not followed)';
    case 'http_status':
      return `the server answered HTTP ${outcome.status ?? 'error'}, not 200`;
    case 'too_large':
      return `too large: more than ${DEFAULT_JWKS_MAX_RESPONSE_BYTES / KIB} KiB`;
    case 'invalid_json':
      return 'not JSON';
    case 'invalid_jwks':
      return `not a JWK Set: a JSON object with "keys", an array of at most ${MAX_REMOTE_JWKS_KEYS} JWK objects`;
  }
}

/**
 * The keys the server would verify with: public RSA, EC or OKP keys meant for signatures (as
 * server/tokens/jws-guards.ts selects them); keys with private or secret members are already
 * left out by the JWK Set check.
 */
function usableKeys(outcome: Extract<JwksFetchOutcome, { ok: true }>): TestedKey[] {
  const text = (value: unknown): string | null => (typeof value === 'string' ? value : null);
  return outcome.keys
    .filter((key) => typeof key.kty === 'string' && KEY_TYPES.includes(key.kty) && (key.use === undefined || key.use === 'sig'))
    .map((key) => ({ kid: text(key.kid), kty: String(key.kty), alg: text(key.alg), use: text(key.use) }));
}

export function trustedIssuerRoutes({ runtime, committed }: AdminContext): Router {
  const router = Router();
  const { store } = runtime;

  router.get('/', route(async (req, res) => {
    await answerList(req, res, 'trusted-issuers', (page) => store.listTrustedIssuers(page), (i) => i.id, (i) => i);
  }));

  // Before /:id, so a POST here is the test (a trusted issuer may still be named test-jwks: it has no POST).
  router.post('/test-jwks', route(async (req, res) => {
    const validated = validateTrustedIssuerJwksTestBody(req.body);
    if (!validated.ok) return sendAdminError(res, 'invalid_request', validated.error.message, { field: validated.error.field });
    const { jwks_uri: uri, jwks } = validated.value;
    // The fetch the server makes for a trusted issuer's jwks_uri, with its limits (no redirects, timeout, size).
    const outcome =
      uri !== undefined ? await fetchJwks(uri, { fetch: globalThis.fetch, timeoutMs: DEFAULT_JWKS_FETCH_TIMEOUT_MS, maxResponseBytes: DEFAULT_JWKS_MAX_RESPONSE_BYTES }) : jwksDocumentKeys(jwks);
    if (!outcome.ok) {
      answer<JwksTestBody>(res, { ok: false, problem: problemText(outcome) });
      return;
    }
    const keys = usableKeys(outcome);
    if (keys.length === 0) {
      answer<JwksTestBody>(res, { ok: false, problem: 'no usable keys: the set has no public RSA, EC or OKP signature key (keys with private or secret members are not used)' });
      return;
    }
    answer<JwksTestBody>(res, { ok: true, keys });
  }));

  router.get('/:id', route(async (req, res) => {
    const issuer = await store.getTrustedIssuer(param(req, 'id'));
    if (!issuer) return sendAdminError(res, 'not_found', 'No such trusted issuer');
    sendWithEtag(res, issuer, issuer);
  }));

  router.put('/:id', route(async (req, res) => {
    const id = param(req, 'id');
    if (refuseInvalidId(res, id, 'trusted issuer')) return;
    const existing = await store.getTrustedIssuer(id);
    const built = buildTrustedIssuer(id, req.body, existing);
    if (!built.ok) return sendAdminError(res, 'invalid_request', built.error.message, { field: built.error.field });
    const { record } = built.value;
    const { created } = await store.putTrustedIssuer(record, actorOf(res), preconditionOf(req));
    await committed();
    answer<TrustedIssuerBody>(res, record, created ? 201 : 200);
  }));

  router.patch('/:id', route(async (req, res) => {
    const id = param(req, 'id');
    await patchResource(
      req,
      res,
      {
        what: 'trusted issuer',
        read: () => store.getTrustedIssuer(id),
        view: (issuer) => ({ ...issuer }),
        readOnly: READ_ONLY,
        build: async (merged, existing) => buildTrustedIssuer(id, merged, existing),
        write: async (record, precondition) => {
          await store.putTrustedIssuer(record, actorOf(res), precondition);
        },
      },
      committed,
    );
  }));

  router.delete('/:id', route(async (req, res) => {
    if (!(await store.deleteTrustedIssuer(param(req, 'id'), actorOf(res), preconditionOf(req)))) return sendAdminError(res, 'not_found', 'No such trusted issuer');
    await committed();
    res.status(204).end();
  }));

  return router;
}
