import type { Response } from 'express';
import type { EndpointResponse } from '../oauth/token-endpoint.ts';

/** Writes an endpoint's value-typed response as JSON. */
export function sendEndpointResponse(res: Response, response: EndpointResponse): void {
  res.status(response.status);
  for (const [name, value] of Object.entries(response.headers)) res.setHeader(name, value);
  res.type('application/json').send(JSON.stringify(response.body));
}
