/**
 * The admin page's client and trusted-issuer forms are written by hand (they group and explain
 * the members), so they could fall behind the JSON Schemas the server validates with. This test
 * holds them together: every member a schema defines is one its form writes into the body it
 * saves, as `body['member'] = ...` (or, for the issuer's key source, in the object `keySource()`
 * answers and `Object.assign` copies into the body).
 */
import { describe, expect, it } from '@jest/globals';
import { readFileSync } from 'node:fs';
import { loadSchema, type SchemaName } from '../../server/schemas/validate.ts';

function formSource(view: string): string {
  return readFileSync(new URL(`../../admin/web/src/views/${view}`, import.meta.url), 'utf8');
}

function schemaMembers(schema: SchemaName): string[] {
  const properties = loadSchema(schema)['properties'];
  if (typeof properties !== 'object' || properties === null) throw new Error(`${schema} has no properties`);
  return Object.keys(properties);
}

/** The members the form never writes; `alsoWritten(member)` recognises other ways the form sets one. */
function unwritten(members: readonly string[], source: string, alsoWritten: (member: string) => boolean = () => false): string[] {
  return members.filter((member) => !source.includes(`body['${member}']`) && !alsoWritten(member));
}

describe('the admin page forms', () => {
  it('the client form writes every member of the client schema', () => {
    const members = schemaMembers('client');
    expect(members.length).toBeGreaterThan(10);
    expect(unwritten(members, formSource('clients.js'))).toEqual([]);
  });

  it('the trusted-issuer form writes every member of the trusted-issuer schema', () => {
    const source = formSource('trusted-issuers.js');
    expect(source).toContain('Object.assign(body, source.keys)');
    expect(unwritten(schemaMembers('trusted-issuer'), source, (member) => source.includes(`keys: { ${member}:`))).toEqual([]);
  });

  it('would report a member a form does not write', () => {
    expect(unwritten(['scope', 'no_such_member'], formSource('clients.js'))).toEqual(['no_such_member']);
  });
});
