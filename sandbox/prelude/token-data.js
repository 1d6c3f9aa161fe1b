/*
 * Prelude module: token data, the claims objects that also answer Curity's java.util.Map calls.
 */
/* exported wrapClaim, tokenData */
/* global create, ObjectPrototype, StringCtor, objectKeys, freeze, isArray -- intrinsics.js */
/* global hidden, has, setValue, bareObject, finish -- helpers.js */
/* global javaList -- collections.js */

// Token data: claims as own enumerable properties; Map methods inherited and non-enumerable, so
// `data.scope`, `data.get('scope')` and JSON.stringify(data) (claims only) all work.
const TokenDataPrototype = create(ObjectPrototype);
hidden(TokenDataPrototype, 'get', function get(name) {
  const key = StringCtor(name);
  return has(this, key) ? this[key] : null;
});
hidden(TokenDataPrototype, 'put', function put(name, value) {
  const key = StringCtor(name);
  const previous = has(this, key) ? this[key] : null;
  setValue(this, key, value, true);
  return previous;
});
hidden(TokenDataPrototype, 'containsKey', function containsKey(name) {
  return has(this, StringCtor(name));
});
hidden(TokenDataPrototype, 'remove', function remove(name) {
  const key = StringCtor(name);
  const previous = has(this, key) ? this[key] : null;
  delete this[key];
  return previous;
});
hidden(TokenDataPrototype, 'keySet', function keySet() {
  return javaList(objectKeys(this), false);
});
freeze(TokenDataPrototype);

function wrapClaim(value) {
  if (isArray(value)) return javaList(value, true);
  if (typeof value === 'object' && value !== null) return tokenData(value);
  return value;
}
function tokenData(claims) {
  const data = bareObject();
  const keys = objectKeys(claims);
  for (let i = 0; i < keys.length; i++) data[keys[i]] = wrapClaim(claims[keys[i]]);
  return finish(data, TokenDataPrototype);
}
