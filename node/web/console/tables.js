// Draws a released or reviewed CSV table. For output checkers each cell is
// coloured by its verdict from the release's results_json (spec/
// disclosure.md): "pass", "suppressed" (the node hid it) or "review" (a
// rule flagged it), with the rules and numbers behind a flag as its title
// (shown on hover and read by screen readers through the cell's label).
import { h, parseCsv } from './dom.js';

// {"r,c": ["threshold", ...]} for `fileName` in the release's results_json.
export function flaggedCells(resultsJson, fileName) {
  const flags = {};
  let results = {};
  try { results = JSON.parse(resultsJson || '{}').results || {}; } catch { return flags; }
  for (const output of Object.values(results)) {
    for (const file of output.files || []) {
      if (file.name !== fileName) continue;
      for (const [rule, cells] of Object.entries(file.sdc?.cells || {})) {
        for (const [row, column] of cells || []) (flags[`${row},${column}`] ||= []).push(rule);
      }
    }
  }
  return flags;
}

function isSuppressed(text) { return text === '' || text === '*' || /^suppressed$/i.test(text); }

// `rows` from parseCsv: a header row, then label column(s) and numbers.
// Margins ("Total" rows and columns) are drawn but never flagged.
export function drawTable(csvText, flags, caption) {
  const rows = parseCsv(csvText).filter((r) => r.length > 1 || r[0] !== '');
  if (!rows.length) return h('p', {}, 'empty table');
  const [header, ...body] = rows;
  const labels = header.findIndex((_, i) => body.some((r) => r[i] !== undefined && /^-?[\d.]+$/.test(r[i])));
  const firstValue = labels < 0 ? header.length : labels;
  const table = h('table', { class: 'cells' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, header.map((name) => h('th', { scope: 'col' }, name)))));
  const tbody = h('tbody');
  body.forEach((row, r) => {
    const tr = h('tr');
    row.forEach((value, c) => {
      if (c < firstValue) { tr.append(h('th', { scope: 'row' }, value)); return; }
      const margin = /total/i.test(header[c]) || row.slice(0, firstValue).some((v) => /total/i.test(v));
      const rules = margin ? null : flags?.[`${r},${c - firstValue}`];
      let verdict = 'pass';
      if (isSuppressed(value)) verdict = 'suppressed';
      else if (rules) verdict = 'review';
      const why = verdict === 'pass' ? 'passes every rule'
        : verdict === 'suppressed' ? `suppressed by the node${rules ? ` (${rules.join(', ')})` : ''}`
        : `needs review: ${rules.join(', ')} (value ${value})`;
      // A flagged cell takes keyboard focus, so its reason is reachable
      // without a mouse (its title and accessible name).
      tr.append(h('td', { class: flags ? `v-${verdict}` : null, title: flags ? why : null,
                          tabindex: flags && verdict !== 'pass' ? 0 : null,
                          'aria-label': flags ? `${value || 'hidden'}: ${why}` : null,
                          'data-verdict': flags ? verdict : null }, value));
    });
    tbody.append(tr);
  });
  table.append(tbody);
  return table;
}

// A bar chart (SVG, drawn here, no library) of a table's first value
// column against its row labels, margins left out.
export function drawChart(csvText, title) {
  const rows = parseCsv(csvText).filter((r) => r.length > 1);
  const [header, ...body] = rows;
  // A cross-tabulation's row totals, else the first column of numbers.
  const totals = header.findIndex((name, i) => i > 0 && name === 'Total');
  const column = totals > 0 ? totals
    : header.findIndex((_, i) => i > 0 && body.some((r) => /^-?[\d.]+$/.test(r[i] || '')));
  const labelColumns = header.findIndex((_, i) => body.some((r) => /^-?[\d.]+$/.test(r[i] || '')));
  const bars = body
    .filter((r) => !r.some((v) => /total/i.test(v)))
    .map((r) => ({ label: r.slice(0, labelColumns).join(' '), value: Number(r[column]) || 0, text: r[column] }));
  const max = Math.max(1, ...bars.map((b) => b.value));
  const ns = 'http://www.w3.org/2000/svg';
  const svg = document.createElementNS(ns, 'svg');
  const rowHeight = 22, labelWidth = 160, width = 520;
  svg.setAttribute('viewBox', `0 0 ${width} ${bars.length * rowHeight + 10}`);
  svg.setAttribute('role', 'img');
  svg.setAttribute('aria-label', `${title}: ${header[column]} by ${header.slice(0, labelColumns).join(' and ')}`);
  svg.setAttribute('class', 'chart');
  const add = (tag, attributes, text) => {
    const element = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
    if (text !== undefined) element.textContent = text;
    svg.append(element);
  };
  bars.forEach((bar, i) => {
    const y = i * rowHeight + 5;
    add('text', { x: labelWidth - 6, y: y + 15, 'text-anchor': 'end' }, bar.label);
    const length = ((width - labelWidth - 60) * bar.value) / max;
    add('rect', { x: labelWidth, y, width: Math.max(length, bar.text === '' ? 0 : 1), height: rowHeight - 6 });
    add('text', { x: labelWidth + length + 4, y: y + 15 }, bar.text === '' ? 'suppressed' : bar.text);
  });
  return svg;
}
