// Draws a released or reviewed CSV table. For output checkers each cell is
// coloured by its verdict from the release's results_json (spec/
// disclosure.md): "pass", "suppressed" (the node hid it) or "review" (a
// rule flagged it), with the rules and numbers behind a flag as its title
// (shown on hover and read by screen readers through the cell's label).
import { h, parseCsv, visible } from './dom.js';

// What the node's disclosure check (results_json, spec/disclosure.md) says
// of `fileName`: null when it holds no check of that file (no cell then
// gets a verdict), else {cells: {"r,c": ["threshold", ...]}, suppressed}
// where `suppressed` is the node's own word that it hid cells of the file.
export function flaggedCells(resultsJson, fileName) {
  let results = {};
  try { results = JSON.parse(resultsJson || '{}').results || {}; } catch { return null; }
  let check = null;
  for (const output of Object.values(results)) {
    for (const file of output.files || []) {
      if (file.name !== fileName || !file.sdc) continue;
      check ||= { cells: {}, suppressed: false };
      if (file.sdc.summary?.suppressed === true) check.suppressed = true;
      for (const [rule, cells] of Object.entries(file.sdc.cells || {})) {
        for (const [row, column] of cells || []) (check.cells[`${row},${column}`] ||= []).push(rule);
      }
    }
  }
  return check;
}

function looksHidden(text) { return text === '' || text === '*' || /^suppressed$/i.test(text); }

const TOTAL = 'Total';

// `rows` from parseCsv: a header row, then rows of a label and counts. The
// layout is the node's (node/releases/table_csv.cc): the label is column 0,
// a margin row is one whose label is exactly "Total", a margin column is
// the last one if it is named exactly "Total"; the node's [row, column]
// count rows and columns without margins. Margins are drawn, never flagged.
// `check` is flaggedCells' answer, or null to draw no verdicts at all.
export function drawTable(csvText, check, caption) {
  const rows = parseCsv(csvText).filter((r) => r.length > 1 || r[0] !== '');
  if (!rows.length) return h('p', {}, 'empty table');
  const [header, ...body] = rows;
  const totalColumn = header.length > 2 && header[header.length - 1] === TOTAL ? header.length - 1 : -1;
  const table = h('table', { class: 'cells' },
    h('caption', {}, caption),
    h('thead', {}, h('tr', {}, header.map((name) => h('th', { scope: 'col' }, name)))));
  const tbody = h('tbody');
  let r = 0;
  for (const row of body) {
    const tr = h('tr');
    const marginRow = row[0] === TOTAL;
    row.forEach((value, c) => {
      if (c === 0) { tr.append(h('th', { scope: 'row' }, value)); return; }
      if (!check) { tr.append(h('td', {}, value)); return; }
      const margin = marginRow || c === totalColumn;
      const rules = margin ? null : check.cells[`${r},${c - 1}`];
      let verdict = 'pass';
      let why = margin ? 'a margin (the node checks the cells it totals)' : 'passes every rule';
      if (looksHidden(value) && check.suppressed) {
        verdict = 'suppressed';
        why = `suppressed by the node${rules ? ` (${rules.join(', ')})` : ''}`;
      } else if (looksHidden(value)) {
        verdict = 'review';
        why = 'shown as hidden, but the node suppressed nothing in this file';
      } else if (rules) {
        verdict = 'review';
        why = `needs review: ${rules.join(', ')} (value ${value})`;
      }
      // A flagged cell takes keyboard focus, so its reason is reachable
      // without a mouse (its title and accessible name).
      tr.append(h('td', { class: `v-${verdict}`, title: why, tabindex: verdict !== 'pass' ? 0 : null,
                          'aria-label': `${value || 'hidden'}: ${why}`, 'data-verdict': verdict }, value));
    });
    if (!marginRow) r += 1;
    tbody.append(tr);
  }
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
  svg.setAttribute('aria-label', visible(`${title}: ${header[column]} by ${header.slice(0, labelColumns).join(' and ')}`));
  svg.setAttribute('class', 'chart');
  const add = (tag, attributes, text) => {
    const element = document.createElementNS(ns, tag);
    for (const [k, v] of Object.entries(attributes)) element.setAttribute(k, v);
    if (text !== undefined) element.textContent = visible(text);
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
