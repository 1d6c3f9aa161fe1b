// @ts-check
// Entry point: hash routes, the sign-in gate and the navigation.
import { must } from './dom.js';
import { setUnauthorizedHandler } from './api.js';
import { getAdminKey, clearAdminKey } from './session.js';
import { renderSignIn } from './views/signin.js';
import { renderProcedures } from './views/procedures.js';
import { renderProcedure } from './views/procedure.js';
import { renderClients } from './views/clients.js';
import { renderAudit } from './views/audit.js';
// Configuration screens (clients above, and these).
import { renderTrustedIssuers } from './views/trusted-issuers.js';
import { renderSigningKeys } from './views/signing-keys.js';
import { renderAdminKeys } from './views/admin-keys.js';

const app = must(document, '#app', HTMLElement);
const nav = must(document, '#nav', HTMLElement);
const signOut = must(document, '#signout', HTMLButtonElement);

/** Cleans up the current view (the editor holds listeners) before the next one renders. */
let disposeView = () => {};
let signInNotice = '';

/** @returns {{ section: string, id: string | null, query: URLSearchParams }} */
function parseHash() {
  const [path = '', query = ''] = location.hash.replace(/^#\/?/, '').split('?', 2);
  const [section = '', ...rest] = path.split('/');
  let id = null;
  if (rest.length > 0) {
    try {
      id = decodeURIComponent(rest.join('/'));
    } catch {
      id = null;
    }
  }
  return { section, id, query: new URLSearchParams(query) };
}

function route() {
  disposeView();
  disposeView = () => {};
  const signedIn = getAdminKey() !== null;
  nav.hidden = !signedIn;
  signOut.hidden = !signedIn;
  if (!signedIn) {
    renderSignIn(app, {
      notice: signInNotice,
      onSignedIn: () => {
        signInNotice = '';
        route();
      },
    });
    return;
  }
  const { section, id, query } = parseHash();
  for (const link of nav.querySelectorAll('a')) {
    if (link.getAttribute('href') === `#/${section}`) link.setAttribute('aria-current', 'page');
    else link.removeAttribute('aria-current');
  }
  if (section === 'procedures' && id) {
    disposeView = renderProcedure(app, id, query.get('flow'));
  } else if (section === 'procedures') {
    renderProcedures(app);
  } else if (section === 'clients') {
    renderClients(app, id, query);
  } else if (section === 'trusted-issuers') {
    renderTrustedIssuers(app, id, query);
  } else if (section === 'signing-keys') {
    renderSigningKeys(app);
  } else if (section === 'admin-keys') {
    renderAdminKeys(app);
  } else if (section === 'audit') {
    renderAudit(app, query);
  } else {
    location.replace('#/procedures');
  }
}

setUnauthorizedHandler(() => {
  if (getAdminKey() === null) return;
  clearAdminKey();
  signInNotice = 'The admin key was not accepted (it may have been changed). Sign in again.';
  route();
});

signOut.addEventListener('click', () => {
  clearAdminKey();
  signInNotice = '';
  route();
});

window.addEventListener('hashchange', route);
route();
