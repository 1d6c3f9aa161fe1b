/*
 * Prelude module: `context.client`, a frozen view of the client's configuration.
 */
/* exported clientView */
/* global create, ObjectPrototype, freeze, objectKeys -- intrinsics.js */
/* global hidden, bareObject, finish -- helpers.js */
/* global javaList -- collections.js */

// context.client: data properties plus Curity's getters.
const ClientPrototype = create(ObjectPrototype);
const CLIENT_FIELDS = ['id', 'name', 'properties', 'audiences', 'audiencesAsString', 'scope'];
const CLIENT_GETTERS = ['getId', 'getName', 'getProperties', 'getAudiences', 'getAudiencesAsString', 'getScope'];
for (let i = 0; i < CLIENT_FIELDS.length; i++) {
  const field = CLIENT_FIELDS[i];
  hidden(ClientPrototype, CLIENT_GETTERS[i], function read() {
    return this[field];
  });
}
freeze(ClientPrototype);

function clientView(client) {
  const view = bareObject();
  const properties = bareObject();
  const propertyKeys = objectKeys(client.properties);
  for (let i = 0; i < propertyKeys.length; i++) properties[propertyKeys[i]] = client.properties[propertyKeys[i]];
  let audiencesAsString = '';
  for (let i = 0; i < client.audiences.length; i++) audiencesAsString += (i > 0 ? ' ' : '') + client.audiences[i];
  view.id = client.id;
  view.name = client.name;
  view.properties = finish(properties, ObjectPrototype);
  view.audiences = javaList(client.audiences, false);
  view.audiencesAsString = audiencesAsString;
  view.scope = client.scope;
  return freeze(finish(view, ClientPrototype));
}
