// @ts-check
// Tiny DOM helpers. Everything the API returns (procedure sources, logs, claims) is hostile
// input, so text only ever goes in through text nodes, never through innerHTML.

/**
 * @typedef {string | number | boolean | null | undefined | ((event: Event) => void)} AttrValue
 * @typedef {Node | string | number | null | undefined | false} Child
 */

/**
 * Creates an element. `on*` attributes become event listeners; `true` sets an empty attribute;
 * `false`, `null` and `undefined` leave it out.
 * @template {keyof HTMLElementTagNameMap} K
 * @param {K} tag
 * @param {Record<string, AttrValue>} [attrs]
 * @param {...(Child | Child[])} children
 * @returns {HTMLElementTagNameMap[K]}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (typeof value === 'function') {
      element.addEventListener(name.slice(2), value);
    } else if (value === true) {
      element.setAttribute(name, '');
    } else if (value !== false && value !== null && value !== undefined) {
      element.setAttribute(name, String(value));
    }
  }
  append(element, children);
  return element;
}

/**
 * @param {Element} parent
 * @param {(Child | Child[])[]} children
 */
function append(parent, children) {
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    parent.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * Replaces all children of `parent`.
 * @param {Element} parent
 * @param {...(Child | Child[])} children
 */
export function replaceChildren(parent, ...children) {
  parent.replaceChildren();
  append(parent, children);
}

/**
 * Looks up an element that the page itself created; a missing one is a bug, not a user error.
 * @template {Element} T
 * @param {ParentNode} root
 * @param {string} selector
 * @param {new () => T} type
 * @returns {T}
 */
export function must(root, selector, type) {
  const found = root.querySelector(selector);
  if (!(found instanceof type)) throw new Error(`admin page: ${selector} is missing`);
  return found;
}

/**
 * A table with column headings, in a box that scrolls sideways on narrow screens.
 * @param {string} id
 * @param {string} label
 * @param {string[]} columns
 * @param {HTMLTableSectionElement} body
 */
export function dataTable(id, label, columns, body) {
  const head = h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c))));
  return h('div', { class: 'table-scroll' }, h('table', { id, 'aria-label': label }, head, body));
}

/** @param {unknown} value */
export function prettyJson(value) {
  return JSON.stringify(value, null, 2) ?? String(value);
}

/**
 * A date for tables: local time with its time zone (admins in several zones read the same audit
 * trail), or the raw value when it does not parse. Numbers are epoch seconds, as the API and JWT
 * claims give them.
 * @param {string | number | null | undefined} value
 */
export function formatTime(value) {
  if (value === null || value === undefined || value === '') return '';
  const date = new Date(typeof value === 'number' ? value * 1000 : value);
  return Number.isNaN(date.getTime()) ? String(value) : date.toLocaleString(undefined, { dateStyle: 'short', timeStyle: 'long' });
}

/** @param {string | null | undefined} sha256 */
export function shortHash(sha256) {
  return sha256 ? sha256.slice(0, 12) : '';
}

/**
 * A status line that screen readers announce.
 * @param {HTMLElement} element
 * @param {'ok' | 'warning' | 'error' | 'info'} kind
 * @param {string} text
 */
export function setStatus(element, kind, text) {
  element.dataset['kind'] = kind;
  element.textContent = text;
}
