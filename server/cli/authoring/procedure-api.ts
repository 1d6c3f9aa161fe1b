/**
 * The procedure API as the lint uses it. The names are declared once, in sandbox/procedure-api.ts
 * (checked there against the real sandbox objects, the editor typings and the README); `check`
 * suggests the nearest of them for a misspelt call.
 */
import type { FlowId } from '../../store/types.ts';
import { CONTEXT_BY_FLOW, PROCEDURE_API } from '../../../sandbox/procedure-api.ts';
import type { ApiObject } from '../../../sandbox/procedure-api.ts';

export {
  CLIENT,
  CONSOLE,
  CONTEXT_BY_FLOW,
  DELEGATION,
  DELEGATION_ISSUER,
  ECMASCRIPT_GLOBALS,
  EXCEPTION_FACTORY,
  INITIALIZED_CONTEXT,
  JAVA_ITERATOR,
  JAVA_LIST,
  LOGGER,
  PROCEDURE_API,
  PROCEDURE_EXCEPTION,
  PROCEDURE_GLOBALS,
  REQUEST,
  TOKEN_DATA,
  TOKEN_EXCHANGE_CONTEXT,
  TOKEN_ISSUER,
} from '../../../sandbox/procedure-api.ts';
export type { ApiMember, ApiObject } from '../../../sandbox/procedure-api.ts';

/** Methods callable on the context a procedure receives for a flow (both flows' when unknown). */
export function contextMethodsFor(flow: FlowId | null): readonly string[] {
  const declared = flow === null ? undefined : (CONTEXT_BY_FLOW as Partial<Record<FlowId, ApiObject>>)[flow];
  if (declared) return declared.methods;
  return [...new Set(Object.values(CONTEXT_BY_FLOW).flatMap((context) => context.methods))];
}

/** Members readable on the context a procedure receives for a flow (both flows' when unknown). */
export function contextPropertiesFor(flow: FlowId | null): readonly string[] {
  const declared = flow === null ? undefined : (CONTEXT_BY_FLOW as Partial<Record<FlowId, ApiObject>>)[flow];
  if (declared) return declared.properties;
  return [...new Set(Object.values(CONTEXT_BY_FLOW).flatMap((context) => context.properties))];
}

/** An API object by the interface name that declares it (undefined when the API has none). */
export function apiObjectNamed(typeName: string): ApiObject | undefined {
  return PROCEDURE_API.find((object) => object.typeName === typeName);
}

/** What every object inherits: reading these on an API object is never a mistake. */
export const OBJECT_PROTOTYPE_MEMBERS: readonly string[] = Object.getOwnPropertyNames(Object.prototype);
