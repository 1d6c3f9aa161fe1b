/**
 * Signing keys. A key of the configured algorithm (ES256 by default; RS256, which RFC 9068 §2.1
 * requires servers to support, on request) is generated at first start and kept in the store, so
 * restarts keep verifying earlier tokens. Changing the algorithm is a rotation. Signing is
 * synchronous node:crypto because the sandbox calls it from inside a running procedure;
 * verification of every JWT (presented tokens, introspection, client assertions) is
 * presented-token-validator.ts's.
 */
import crypto from 'node:crypto';
import type { Store, SigningKeyRecord } from '../store/types.ts';
import { derToJoseSignature, toLowS } from './ecdsa-signature.ts';
import { KEY_PREPUBLISH_SECONDS } from '../defaults.ts';
import { inSpanSync } from '../observability/tracing.ts';

/** ES256 (P-256) scalar size: the only curve this server signs with. */
const P256_SCALAR_BYTES = 32;

export const SIGNING_ALGORITHMS = ['ES256', 'RS256'] as const;
export type SigningAlg = (typeof SIGNING_ALGORITHMS)[number];
export const DEFAULT_SIGNING_ALG: SigningAlg = 'ES256';

export function isSigningAlg(value: string): value is SigningAlg {
  return (SIGNING_ALGORITHMS as readonly string[]).includes(value);
}

export type PublicJwk = {
  kty: string;
  crv?: string;
  x?: string;
  y?: string;
  n?: string;
  e?: string;
  kid: string;
  alg: string;
  use: 'sig';
};

/** A signing key as described to operators: times in epoch seconds, the public JWK, never private material. */
export interface SigningKeyDescription {
  kid: string;
  alg: string;
  created_at: number;
  /** When it signs (or signed) from: its creation, or the end of its pre-publication. */
  signs_from: number;
  /** When it stops (or stopped) signing; null while no newer key replaces it. */
  retired_at: number | null;
  /** In the JWKS now. */
  published: boolean;
  /** The key signing now. */
  signing: boolean;
  public_jwk: PublicJwk;
}

interface LoadedKey {
  kid: string;
  alg: string;
  privateKey: crypto.KeyObject;
  publicJwk: PublicJwk;
  createdAt: number;
  retiredAt: number | null;
}

const PUBLIC_MEMBERS = ['kty', 'crv', 'x', 'y', 'n', 'e'] as const;

function publicJwkOf(jwk: crypto.JsonWebKey, kid: string, alg: string): PublicJwk {
  const out: Record<string, unknown> = {};
  for (const member of PUBLIC_MEMBERS) if (jwk[member] !== undefined) out[member] = jwk[member];
  return { ...(out as Omit<PublicJwk, 'kid' | 'alg' | 'use'>), kid, alg, use: 'sig' };
}

/** RFC 7638 thumbprint: a stable, collision-free kid. */
function thumbprint(jwk: crypto.JsonWebKey): string {
  const canonical =
    jwk.kty === 'RSA' ? JSON.stringify({ e: jwk.e, kty: jwk.kty, n: jwk.n }) : JSON.stringify({ crv: jwk.crv, kty: jwk.kty, x: jwk.x, y: jwk.y });
  return crypto.createHash('sha256').update(canonical).digest('base64url');
}

export function generateSigningKeyRecord(alg: SigningAlg = DEFAULT_SIGNING_ALG, now: number = Date.now()): Omit<SigningKeyRecord, 'retired_at'> {
  const { privateKey } =
    alg === 'RS256' ? crypto.generateKeyPairSync('rsa', { modulusLength: 2048 }) : crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
  const jwk = privateKey.export({ format: 'jwk' });
  const kid = thumbprint(jwk);
  return {
    kid,
    alg,
    private_jwk: JSON.stringify(jwk),
    public_jwk: JSON.stringify(publicJwkOf(jwk, kid, alg)),
    created_at: Math.floor(now / 1000),
  };
}

function loadKey(record: SigningKeyRecord): LoadedKey {
  const jwk = JSON.parse(record.private_jwk) as crypto.JsonWebKey;
  return {
    kid: record.kid,
    alg: record.alg,
    privateKey: crypto.createPrivateKey({ key: jwk, format: 'jwk' }),
    publicJwk: JSON.parse(record.public_jwk) as PublicJwk,
    createdAt: record.created_at,
    retiredAt: record.retired_at,
  };
}

/** Signs compact JWS synchronously with a given key (the server's active key, or the CLI's throwaway key). */
export interface TokenSigner {
  readonly issuer: string;
  /** `payload` may be the claims already serialised as JSON, so a caller that has the text does not pay twice. */
  sign(header: Record<string, unknown>, payload: Record<string, unknown> | string): { token: string; header: Record<string, unknown> };
  publicKeys(): readonly PublicJwk[];
}

export function signCompact(key: crypto.KeyObject, header: Record<string, unknown>, payload: Record<string, unknown> | string): string {
  // The span names the key and type, never the claims or the token.
  return inSpanSync('tokenproc.sign', { 'tokenproc.sign.alg': String(header.alg ?? ''), 'tokenproc.sign.kid': String(header.kid ?? ''), 'tokenproc.sign.typ': String(header.typ ?? '') }, () =>
    signCompactUntraced(key, header, payload),
  );
}

function signCompactUntraced(key: crypto.KeyObject, header: Record<string, unknown>, payload: Record<string, unknown> | string): string {
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const encodedPayload = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64url');
  const input = `${encodedHeader}.${encodedPayload}`;
  // ES256 wants the raw r||s form (RFC 7518 §3.4), in its low-S form (ecdsa-signature.ts); RS256 is
  // PKCS #1 v1.5, node's default for RSA keys. The key always goes in bare (node:crypto's fast path).
  const signed = crypto.sign('sha256', Buffer.from(input), key);
  const signature = key.asymmetricKeyType === 'ec' ? toLowS(derToJoseSignature(signed, P256_SCALAR_BYTES), P256_SCALAR_BYTES) : signed;
  return `${input}.${signature.toString('base64url')}`;
}

/**
 * The server's signing keys, with rotation that never breaks a token or a relying party:
 * - A new key is published first and signs only `prepublishSeconds` later (default a little longer
 *   than the JWKS's `Cache-Control: max-age`), so every instance and every relying party that
 *   caches the JWKS has it before the first token it signs. The previous key signs until then.
 * - A retired key stays published until every token it signed has expired (`graceSeconds`).
 * - Which key signs is decided from the keys' times at each signature, so all instances switch at
 *   the same moment without reloading.
 * - The first key, and a key of a newly configured algorithm, sign at once (nothing could have been
 *   signed by a key that does not exist); instances starting together create one such key.
 */
export class KeyManager implements TokenSigner {
  readonly issuer: string;
  private readonly store: Store;
  private readonly graceSeconds: number;
  private readonly prepublishSeconds: number;
  private readonly alg: SigningAlg;
  private readonly now: () => number;
  private keys: LoadedKey[] = [];
  private active: LoadedKey | null = null;
  /** Epoch seconds at which the signing key or the published set changes next (Infinity: none known). */
  private nextChangeAt = Number.POSITIVE_INFINITY;
  private jwks: PublicJwk[] = [];

  constructor(
    store: Store,
    issuer: string,
    graceSeconds: number,
    alg: SigningAlg = DEFAULT_SIGNING_ALG,
    options: { prepublishSeconds?: number; now?: () => number } = {},
  ) {
    this.store = store;
    this.issuer = issuer;
    this.graceSeconds = graceSeconds;
    this.alg = alg;
    this.prepublishSeconds = options.prepublishSeconds ?? KEY_PREPUBLISH_SECONDS;
    this.now = options.now ?? Date.now;
  }

  /**
   * Loads the keys; creates the first one when the store has none, and one of the configured
   * algorithm when no unretired key has it (the old key stays published). Both sign at once.
   */
  async init(): Promise<void> {
    await this.reload();
    if (!this.active || this.active.alg !== this.alg) {
      await this.store.addSigningKey(generateSigningKeyRecord(this.alg, this.now()), 'system', { unlessActiveAlg: this.alg });
      await this.reload();
    }
  }

  async reload(): Promise<void> {
    this.keys = (await this.store.listSigningKeys()).map(loadKey);
    this.settle(this.nowSeconds());
  }

  /**
   * Makes a new key. By default it is published now and signs `prepublishSeconds` from now (the
   * current key signs until then); `immediately` (a key that must stop signing at once, e.g. a
   * leaked one) switches now, at the cost of relying parties with a cached JWKS refusing new tokens
   * until they refetch it.
   */
  async rotate(actor: string, options: { immediately?: boolean } = {}): Promise<{ kid: string; signsFrom: number; pruned: string[] }> {
    const now = this.nowSeconds();
    const record = generateSigningKeyRecord(this.alg, this.now());
    const signsFrom = options.immediately ? now : now + this.prepublishSeconds;
    await this.store.addSigningKey(record, actor, { retireCurrentAt: signsFrom });
    const pruned = await this.store.pruneSigningKeys(now - this.graceSeconds, actor);
    await this.reload();
    return { kid: record.kid, signsFrom, pruned };
  }

  sign(header: Record<string, unknown>, payload: Record<string, unknown> | string): { token: string; header: Record<string, unknown> } {
    const now = this.nowSeconds();
    if (now >= this.nextChangeAt) this.settle(now);
    const key = this.active;
    if (!key) throw new Error('no active signing key');
    const fullHeader = { ...header, alg: key.alg, kid: key.kid };
    return { token: signCompact(key.privateKey, fullHeader, payload), header: fullHeader };
  }

  publicKeys(): readonly PublicJwk[] {
    const now = this.nowSeconds();
    if (now >= this.nextChangeAt) this.settle(now);
    return this.jwks;
  }

  /** Every stored key, newest first, as `tokenproc keys list` and GET /admin/api/v1/signing-keys show it (never private material). */
  describe(): SigningKeyDescription[] {
    this.settle(this.nowSeconds());
    const published = new Set(this.jwks.map((k) => k.kid));
    return this.keys.map((k) => ({
      kid: k.kid,
      alg: k.alg,
      created_at: k.createdAt,
      signs_from: this.signsFrom(k),
      retired_at: k.retiredAt,
      published: published.has(k.kid),
      signing: k === this.active,
      public_jwk: k.publicJwk,
    }));
  }

  /**
   * When a key starts signing: once pre-published, or at once when no other key could sign before
   * it (the first key; a key of a new algorithm retired every earlier key at its creation).
   */
  private signsFrom(key: LoadedKey): number {
    // this.keys is newest first (the store's insertion order breaks ties within a second), so the
    // keys after `key` are the older ones.
    const older = this.keys.slice(this.keys.indexOf(key) + 1);
    const predecessorSigns = older.some((k) => k.retiredAt !== null && k.retiredAt > key.createdAt);
    return predecessorSigns ? key.createdAt + this.prepublishSeconds : key.createdAt;
  }

  /** Picks the signing key and the published set for `now`, and when they next change. */
  private settle(now: number): void {
    let next = Number.POSITIVE_INFINITY;
    const consider = (at: number) => {
      if (at > now && at < next) next = at;
    };
    const signing: LoadedKey[] = [];
    for (const key of this.keys) {
      const from = this.signsFrom(key);
      consider(from);
      if (key.retiredAt !== null) {
        consider(key.retiredAt);
        consider(key.retiredAt + this.graceSeconds);
      }
      if (from <= now && (key.retiredAt === null || key.retiredAt > now)) signing.push(key);
    }
    // Newest first (listSigningKeys order); the newest that may sign, signs.
    this.active = signing[0] ?? null;
    // Published: every key not retired past its grace, pending ones included (pre-publication).
    this.jwks = this.keys.filter((k) => k.retiredAt === null || k.retiredAt + this.graceSeconds > now).map((k) => k.publicJwk);
    this.nextChangeAt = next;
  }

  private nowSeconds(): number {
    return Math.floor(this.now() / 1000);
  }
}

/** A signer with a key that lives only in memory: the CLI runner and dry-runs use it. */
export class EphemeralSigner implements TokenSigner {
  readonly issuer: string;
  private readonly key: LoadedKey;

  constructor(issuer: string, alg: SigningAlg = DEFAULT_SIGNING_ALG) {
    this.issuer = issuer;
    const record = generateSigningKeyRecord(alg);
    this.key = loadKey({ ...record, retired_at: null });
  }

  sign(header: Record<string, unknown>, payload: Record<string, unknown> | string): { token: string; header: Record<string, unknown> } {
    const fullHeader = { ...header, alg: this.key.alg, kid: this.key.kid };
    return { token: signCompact(this.key.privateKey, fullHeader, payload), header: fullHeader };
  }

  publicKeys(): readonly PublicJwk[] {
    return [this.key.publicJwk];
  }
}
