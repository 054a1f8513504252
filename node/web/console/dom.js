// Small DOM helpers. Text always goes in as text (textContent), never as
// HTML, so nothing a call returns can become markup or script; and every
// text shown passes through visible(), so no character in it can hide or
// reorder what a person reads.

// Characters that draw nothing or change how the text around them is
// ordered: bidirectional embeddings, overrides, isolates and marks, zero-
// width and invisible characters, the byte-order mark, fillers that draw
// blank, tag characters, and control characters but tab and line breaks.
// A name like "report\u202Ecsv.exe" reads as "reportexe.vsc": a checker
// must see what is there.
const INVISIBLE = new RegExp('[\\u0000-\\u0008\\u000B\\u000C\\u000E-\\u001F\\u007F-\\u009F\\u00AD\\u034F' +
  '\\u061C\\u115F\\u1160\\u17B4\\u17B5\\u180B-\\u180E\\u200B-\\u200F\\u2028-\\u202E\\u2060-\\u206F' +
  '\\u3164\\uFE00-\\uFE0F\\uFEFF\\uFFA0\\uFFF9-\\uFFFB]|[\\u{E0000}-\\u{E007F}]', 'gu');

// `text` with each such character written out as <U+XXXX>.
export function visible(text) {
  return String(text).replace(INVISIBLE, (c) =>
    `<U+${c.codePointAt(0).toString(16).toUpperCase().padStart(4, '0')}>`);
}

// Attributes a person reads (as a tooltip or through a screen reader).
const READ_ATTRIBUTES = new Set(['title', 'aria-label', 'placeholder', 'alt']);

// h('p', {class: 'x', onclick: fn}, 'text', child, ...)
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (name.startsWith('on')) element.addEventListener(name.slice(2), value);
    else if (READ_ATTRIBUTES.has(name)) element.setAttribute(name, visible(value));
    else element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(visible(child)));
  }
  return element;
}

// Pages begun so far; a page's view stops showing once a later one began,
// so a page left before its calls ended never covers the next one.
let epoch = 0;
export function beginPage() { epoch += 1; return epoch; }
export function isCurrent(page) { return page === epoch; }
export function view() {
  const mine = epoch;
  return {
    show: (...children) => { if (mine === epoch) show(...children); },
    // Nor does it write in the status line, which would move the next
    // page's content down under a pointer about to click it.
    say: (text) => { if (mine === epoch) say(text); },
  };
}

// Replaces the page's content, and moves focus to its heading for
// keyboard and screen-reader users.
export function show(...children) {
  const page = document.getElementById('page');
  page.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined && c !== false));
  const heading = page.querySelector('h1');
  if (heading) { heading.tabIndex = -1; heading.focus(); }
}

// A failed call: the page shows the node's refusal and nothing else.
export function showError(error) {
  show(h('h1', {}, 'Not available'),
       h('p', { role: 'alert', class: 'error', 'data-code': error.code || 'error' },
         `${error.code ? `${error.code}: ` : ''}${error.message}`));
}

// Runs `action` (a call and the re-render after it) with the page marked
// busy, as a route's first load is: whoever waits for the page to settle
// then finds the re-rendered elements, not the ones about to be replaced.
export async function busyWhile(action) {
  const element = document.getElementById('page');
  const route = element.dataset.route;
  element.setAttribute('aria-busy', 'true');
  try {
    await action();
  } finally {
    // A route begun meanwhile owns the mark until its own page is shown.
    if (element.dataset.route === route) element.removeAttribute('aria-busy');
  }
}

export function say(text) { document.getElementById('status').textContent = visible(text); }

// "RELEASE_STATE_IN_REVIEW" -> "in review"
export function enumText(value, prefix) {
  return String(value || '').replace(prefix, '').toLowerCase().replace(/_/g, ' ');
}

// A CSV file's rows (RFC 4180 quoting).
export function parseCsv(text) {
  const rows = [];
  let row = [], field = '', quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') { field += '"'; i++; }
      else if (c === '"') quoted = false;
      else field += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') { row.push(field); field = ''; }
    else if (c === '\n' || c === '\r') {
      if (c === '\r' && text[i + 1] === '\n') i++;
      row.push(field); rows.push(row); row = []; field = '';
    } else field += c;
  }
  if (field !== '' || row.length) { row.push(field); rows.push(row); }
  return rows;
}
