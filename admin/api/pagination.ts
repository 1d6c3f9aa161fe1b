/**
 * Cursor pagination of the admin API's lists. Without `limit` and `cursor` a list answers the bare
 * JSON array it always did (the admin page and scripts rely on it); with either it answers
 * `{"items": [...], "next_cursor": "..." | null}`. A cursor is opaque to callers: base64url of the
 * list's name and the last key of the page, so paging is keyset paging (records inserted meanwhile
 * never shift a page) and a cursor of one list is refused by another.
 */
import type { Request, Response } from 'express';
import type { KeyPage } from '../../server/store/types.ts';
import { sendAdminError } from './http.ts';
import { answer, type PageBody } from './bodies.ts';

export const DEFAULT_PAGE_LIMIT = 100;
/** Below the store's audit cap (1000), so one more record than a page always fits in a query. */
export const MAX_PAGE_LIMIT = 500;

export type ListName = 'clients' | 'trusted-issuers' | 'procedures' | 'admin-keys' | 'signing-keys' | 'audit';

export interface PageRequest {
  limit: number;
  /** The last key of the previous page; undefined for the first page. */
  after: string | undefined;
}

export type PageParse = { ok: true; page: PageRequest | null } | { ok: false; message: string; field: string };

export function encodeCursor(list: ListName, key: string): string {
  return Buffer.from(JSON.stringify([list, key]), 'utf8').toString('base64url');
}

function decodeCursor(list: ListName, cursor: string): string | null {
  const bytes = Buffer.from(cursor, 'base64url');
  // Node decodes leniently (it skips what is not base64url): only the canonical spelling is a cursor.
  if (bytes.toString('base64url') !== cursor) return null;
  let decoded: unknown;
  try {
    decoded = JSON.parse(bytes.toString('utf8'));
  } catch {
    return null;
  }
  if (!Array.isArray(decoded) || decoded.length !== 2 || decoded[0] !== list || typeof decoded[1] !== 'string' || decoded[1] === '') return null;
  return decoded[1];
}

/** One query parameter as a single string; `invalid` when repeated or nested. */
function single(req: Request, name: string): string | undefined | { invalid: true } {
  const value: unknown = req.query[name];
  if (value === undefined) return undefined;
  return typeof value === 'string' ? value : { invalid: true };
}

/**
 * Reads `limit` and `cursor`: page null when neither is given (the caller answers the bare array);
 * an empty `cursor` asks for the first page. `limit` is 1 to MAX_PAGE_LIMIT (default 100).
 */
export function readPage(req: Request, list: ListName): PageParse {
  const limitText = single(req, 'limit');
  const cursor = single(req, 'cursor');
  if (limitText === undefined && cursor === undefined) return { ok: true, page: null };
  let limit = DEFAULT_PAGE_LIMIT;
  if (limitText !== undefined) {
    if (typeof limitText !== 'string' || !/^[1-9][0-9]{0,3}$/.test(limitText) || Number(limitText) > MAX_PAGE_LIMIT) {
      return { ok: false, message: `limit must be an integer from 1 to ${MAX_PAGE_LIMIT}`, field: 'limit' };
    }
    limit = Number(limitText);
  }
  if (cursor === undefined || cursor === '') return { ok: true, page: { limit, after: undefined } };
  const after = typeof cursor === 'string' ? decodeCursor(list, cursor) : null;
  if (after === null) return { ok: false, message: 'cursor is not a cursor of this list (pass next_cursor as it was answered)', field: 'cursor' };
  return { ok: true, page: { limit, after } };
}

/** The store's page for a request: one more record than asked, to learn whether another page follows. */
export function storePage(page: PageRequest): KeyPage {
  return page.after === undefined ? { limit: page.limit + 1 } : { after: page.after, limit: page.limit + 1 };
}

/** Answers `{items, next_cursor}` from records fetched with storePage (at most limit + 1 of them). */
export function sendPage<R, V>(res: Response, list: ListName, page: PageRequest, records: readonly R[], keyOf: (record: R) => string, view: (record: R) => V): void {
  const items = records.slice(0, page.limit);
  const last = items.at(-1);
  const next_cursor = records.length > page.limit && last !== undefined ? encodeCursor(list, keyOf(last)) : null;
  answer<PageBody<V>>(res, { items: items.map(view), next_cursor });
}

/** A list route: the bare array without paging parameters, else one page. */
export async function answerList<R, V>(
  req: Request,
  res: Response,
  list: Exclude<ListName, 'audit' | 'signing-keys'>,
  fetch: (page?: KeyPage) => Promise<R[]>,
  keyOf: (record: R) => string,
  view: (record: R) => V,
): Promise<void> {
  const parsed = readPage(req, list);
  if (!parsed.ok) return sendAdminError(res, 'invalid_request', parsed.message, { field: parsed.field });
  if (parsed.page === null) {
    answer<V[]>(res, (await fetch()).map(view));
    return;
  }
  sendPage(res, list, parsed.page, await fetch(storePage(parsed.page)), keyOf, view);
}
