/**
 * Reads a request body as UTF-8 text up to a limit. Over the limit the request is answered 413 with
 * an OAuth error body (not an HTML page) and the connection is not read further.
 */
import type { Request, Response, NextFunction } from 'express';
import { oauthError } from '../oauth/errors.ts';
import { errorResponse } from '../oauth/token-endpoint.ts';
import { sendEndpointResponse } from './respond.ts';

declare module 'express-serve-static-core' {
  interface Request {
    rawBody?: string;
    requestId?: string;
  }
}

export function rawBody(limitBytes: number) {
  return (req: Request, res: Response, next: NextFunction): void => {
    const declared = Number(req.headers['content-length'] ?? '0');
    const tooLarge = () =>
      sendEndpointResponse(res, errorResponse(oauthError('invalid_request', `The request body exceeds ${limitBytes} bytes`, { status: 413 })));
    if (declared > limitBytes) {
      res.setHeader('Connection', 'close');
      tooLarge();
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > limitBytes) {
        done = true;
        res.setHeader('Connection', 'close');
        tooLarge();
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () => {
      if (done) return;
      done = true;
      req.rawBody = Buffer.concat(chunks).toString('utf8');
      next();
    });
    req.on('error', () => {
      done = true;
    });
  };
}
