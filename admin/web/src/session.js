// @ts-check
// The admin key lives in sessionStorage: it dies with the tab and is not shared between tabs,
// unlike localStorage. It is only ever sent as a Bearer header to the admin API.

const ADMIN_KEY_ITEM = 'tokenproc.adminKey';

/** @returns {string | null} */
export function getAdminKey() {
  return sessionStorage.getItem(ADMIN_KEY_ITEM);
}

/** @param {string} key */
export function setAdminKey(key) {
  sessionStorage.setItem(ADMIN_KEY_ITEM, key);
}

export function clearAdminKey() {
  sessionStorage.removeItem(ADMIN_KEY_ITEM);
}
