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
  const encodedHeader = Buffer.from(JSON.stringify(header)).toString('base64url');
  const encodedPayload = Buffer.from(typeof payload === 'string' ? payload : JSON.stringify(payload)).toString('base64url');
  const input = `${encodedHeader}.${encodedPayload}`;
  // ES256 wants the raw r||s form (RFC 7518 §3.4), in its low-S form (ecdsa-signature.ts); RS256 is
  // PKCS #1 v1.5, node's default for RSA keys. The key always goes in bare (node:crypto's fast path).
  const signed = crypto.sign('sha256', Buffer.from(input), key);
  const signature = key.asymmetricKeyType === 'ec' ? toLowS(derToJoseSignature(signed, P256_SCALAR_BYTES), P256_SCALAR_BYTES) : signed;
  return `${input}.${signature.toString('base64url')}`;
}

export class KeyManager implements TokenSigner {
  readonly issuer: string;
  private readonly store: Store;
  private readonly graceSeconds: number;
  private readonly alg: SigningAlg;
  private keys: LoadedKey[] = [];
  private active: LoadedKey | null = null;
  private jwks: PublicJwk[] = [];

  constructor(store: Store, issuer: string, graceSeconds: number, alg: SigningAlg = DEFAULT_SIGNING_ALG) {
    this.store = store;
    this.issuer = issuer;
    this.graceSeconds = graceSeconds;
    this.alg = alg;
  }

  /**
   * Loads the keys; generates the first one when the store has none, and rotates to a key of the
   * configured algorithm when the active one has another (the old key stays published).
   */
  async init(): Promise<void> {
    await this.reload();
    if (!this.active || this.active.alg !== this.alg) {
      await this.store.addSigningKey(generateSigningKeyRecord(this.alg), 'system');
      await this.reload();
    }
  }

  async reload(): Promise<void> {
    const records = await this.store.listSigningKeys();
    const now = Math.floor(Date.now() / 1000);
    this.keys = records.map(loadKey);
    this.active = this.keys.filter((k) => k.retiredAt === null).sort((a, b) => b.createdAt - a.createdAt)[0] ?? null;
    // A retired key stays published until every token it signed has expired.
    this.jwks = this.keys
      .filter((k) => k.retiredAt === null || k.retiredAt + this.graceSeconds > now)
      .map((k) => k.publicJwk);
  }

  async rotate(actor: string): Promise<{ kid: string; pruned: string[] }> {
    const record = generateSigningKeyRecord(this.alg);
    await this.store.addSigningKey(record, actor);
    const pruned = await this.store.pruneSigningKeys(Math.floor(Date.now() / 1000) - this.graceSeconds, actor);
    await this.reload();
    return { kid: record.kid, pruned };
  }

  sign(header: Record<string, unknown>, payload: Record<string, unknown> | string): { token: string; header: Record<string, unknown> } {
    const key = this.active;
    if (!key) throw new Error('no active signing key');
    const fullHeader = { ...header, alg: key.alg, kid: key.kid };
    return { token: signCompact(key.privateKey, fullHeader, payload), header: fullHeader };
  }

  publicKeys(): readonly PublicJwk[] {
    return this.jwks;
  }

  describe(): Array<{ kid: string; alg: string; created_at: number; retired_at: number | null; published: boolean }> {
    const published = new Set(this.jwks.map((k) => k.kid));
    return this.keys.map((k) => ({ kid: k.kid, alg: k.alg, created_at: k.createdAt, retired_at: k.retiredAt, published: published.has(k.kid) }));
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
