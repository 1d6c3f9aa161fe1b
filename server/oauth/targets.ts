/**
 * `resource` (RFC 8707) and `audience` (RFC 8693) parameters: the requested targets of a token.
 * A resource is an absolute URI without a fragment; the total number of targets is bounded.
 */
import { fail, ok, oauthError, type Result } from './errors.ts';
import { allValues, type FormParams } from '../http/form.ts';

export function requestedTargets(params: FormParams, maxTargets: number): Result<string[]> {
  const resources = allValues(params, 'resource');
  const audiences = allValues(params, 'audience');
  for (const resource of resources) {
    let url: URL;
    try {
      url = new URL(resource);
    } catch {
      return fail(oauthError('invalid_target', 'resource must be an absolute URI'));
    }
    if (url.hash !== '' || resource.includes('#')) return fail(oauthError('invalid_target', 'resource must not contain a fragment'));
  }
  const targets = [...new Set([...resources, ...audiences])];
  if (targets.length > maxTargets) return fail(oauthError('invalid_target', `At most ${maxTargets} resource and audience values are accepted`));
  return ok(targets);
}

export function requestedScopes(params: FormParams): string[] {
  const scope = params.get('scope')?.[0];
  return scope ? [...new Set(scope.split(' ').filter((s) => s !== ''))] : [];
}
