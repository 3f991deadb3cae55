// @ts-check
/**
 * Building the page's elements. Every value goes in as text (textContent or an attribute set through
 * the DOM), never as markup: a program named <script> shows as those eight characters.
 */

/**
 * An element with attributes and children; strings and numbers become text nodes.
 * @param {string} tag
 * @param {Record<string, string | number | boolean | undefined | ((event: Event) => void)>} [attrs]
 * @param {...(Node | string | number | undefined | null | false | (Node | string)[])} children
 * @returns {HTMLElement}
 */
export function h(tag, attrs = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) continue;
    if (typeof value === 'function') element.addEventListener(name.replace(/^on/, ''), value);
    else if (/^on/i.test(name))
      continue; // never an inline handler
    else if (name === 'class') element.className = String(value);
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  append(element, children);
  return element;
}

const SVG_NS = 'http://www.w3.org/2000/svg';

/**
 * An SVG element; attributes are set through the DOM, text children as text nodes.
 * @param {string} tag
 * @param {Record<string, string | number>} [attrs]
 * @param {...(Node | string | undefined | null | false)} children
 * @returns {SVGElement}
 */
export function svg(tag, attrs = {}, ...children) {
  const element = document.createElementNS(SVG_NS, tag);
  for (const [name, value] of Object.entries(attrs)) element.setAttribute(name, String(value));
  append(element, children);
  return element;
}

/**
 * @param {Element} element
 * @param {unknown[]} children
 */
function append(element, children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/**
 * A table with a header row; each row is a list of cells (a cell: text, an element, or a list).
 * @param {string[]} head
 * @param {HTMLElement[]} rows
 * @param {string} [empty] what to show when there are no rows
 */
export function table(head, rows, empty = 'none') {
  if (rows.length === 0) return h('p', { class: 'empty' }, empty);
  return h(
    'table',
    {},
    h('thead', {}, h('tr', {}, ...head.map((title) => h('th', {}, title)))),
    h('tbody', {}, ...rows),
  );
}

/**
 * A coloured label for a state (the colour comes from the stylesheet, by class).
 * @param {string} state
 * @param {string} [kind]
 */
export function badge(state, kind = 'state') {
  return h(
    'span',
    {
      class: `badge ${kind}-${String(state)
        .toLowerCase()
        .replace(/[^a-z0-9-]/g, '')}`,
    },
    state,
  );
}

/**
 * `45s`, `12m`, `3h`, `2d` (rounded).
 * @param {number} ms
 */
export function duration(ms) {
  const s = Math.round(Math.abs(ms) / 1000);
  if (s < 120) return `${s}s`;
  if (s < 7200) return `${Math.round(s / 60)}m`;
  if (s < 172800) return `${Math.round(s / 3600)}h`;
  return `${Math.round(s / 86400)}d`;
}

/**
 * How long ago an ISO time was, or `-`.
 * @param {string | undefined} iso
 * @param {number} now
 */
export function ago(iso, now) {
  if (!iso) return '-';
  const t = Date.parse(iso);
  return Number.isNaN(t) ? '-' : `${duration(now - t)} ago`;
}

/**
 * `in 5m` or `5m ago` for an ISO time, or `-`.
 * @param {string | undefined} iso
 * @param {number} now
 */
export function relative(iso, now) {
  if (!iso) return '-';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '-';
  return t >= now ? `in ${duration(t - now)}` : `${duration(now - t)} ago`;
}

/**
 * A value as indented JSON text, for a <pre>.
 * @param {unknown} value
 */
export function json(value) {
  return JSON.stringify(value, null, 2) ?? '';
}
