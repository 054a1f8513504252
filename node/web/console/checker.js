// Output checker's pages: the review queue, and one release's files with
// their cells coloured by verdict, the node's findings (linked tables,
// overlap audit), the other checkers' reviews, and a decision on every
// file with its explanation. The node refuses a checker's own requests and
// projects; the queue leaves out what it can tell is theirs.
import { call, downloadFile } from './api.js';
import { current } from './auth.js';
import { h, view, say, enumText } from './dom.js';
import { flaggedCells, drawTable } from './tables.js';

// A non-CSV review copy is shown whole up to this many characters (a job
// log is at most 64 KiB); a longer one is shown cut, saying so, with its
// approve button disabled.
const SHOWN_TEXT = 1 << 20;

function mine(release) { return release.requester?.split('@')[0] === current().subject; }

export async function queue() {
  const { show } = view();
  const { releases = [] } = await call('Releases/ListReleases', { state: 'RELEASE_STATE_IN_REVIEW' });
  const waiting = releases.filter((r) => !mine(r));
  show(h('h1', {}, 'Review queue'),
       waiting.length === 0 ? h('p', {}, 'Nothing waits for review.') :
       h('table', { class: 'list' },
         h('thead', {}, h('tr', {}, ['Release', 'Project', 'Requested by', 'Files', 'Reviews']
           .map((t) => h('th', { scope: 'col' }, t)))),
         h('tbody', {}, waiting.map((r) => h('tr', {},
           h('td', {}, h('a', { href: `#/review/${r.id}` }, r.id)), h('td', {}, r.projectId),
           h('td', {}, r.requester), h('td', {}, (r.files || []).length),
           h('td', {}, (r.reviews || []).length))))));
}

// Ids come from the file's position in the release, never from its name:
// names that differ only in punctuation (by-age.csv, by_age.csv) must not
// share a radio group or an explanation box.
function fileSection(release, file, index, table, cut) {
  const needs = file.verdict !== 'pass';
  const id = `f-${index}`;
  return h('section', { class: 'file', 'data-file': file.name, 'aria-labelledby': id },
    h('h2', { id }, file.name, ' ', h('span', { class: `badge v-${file.verdict}` }, file.verdict || '—')),
    h('p', {}, file.verdictSummary),
    (file.checkerNotes || []).length ? h('div', { class: 'notes' }, h('h3', {}, 'What the node found'),
      h('ul', {}, file.checkerNotes.map((n) => h('li', {}, n)))) : null,
    (file.gateFailures || []).length ? h('p', { class: 'error' }, `Hard gates: ${file.gateFailures.join('; ')}`) : null,
    table,
    h('fieldset', {},
      h('legend', {}, `Decision on ${file.name}`),
      h('label', {}, h('input', { type: 'radio', name: `d-${id}`, value: 'FILE_DECISION_APPROVE',
                                  disabled: cut ? true : null }), ' Approve'),
      h('label', {}, h('input', { type: 'radio', name: `d-${id}`, value: 'FILE_DECISION_REJECT' }), ' Reject'),
      h('label', { for: `e-${id}` }, needs ? 'Explanation (required to approve)' : 'Explanation (required to reject)'),
      h('textarea', { id: `e-${id}`, rows: 2, 'data-explanation': file.name })));
}

export async function review(releaseId) {
  const { show } = view();
  const release = await call('Releases/GetRelease', { releaseId });
  const sections = [];
  for (const [index, file] of (release.files || []).entries()) {
    let table;
    let cut = false;
    try {
      const text = await (await downloadFile(release.id, file.name)).text();
      if (/\.csv$/i.test(file.name)) {
        const check = flaggedCells(release.resultsJson, file.name);
        const drawn = drawTable(text, check, `${file.name} (review copy)`);
        table = check ? drawn : h('div', {},
          h('p', { class: 'error', 'data-unchecked': 'true' },
            'The node has no disclosure check for this file: no cell has a verdict; read every cell.'),
          drawn);
      } else if (text.length <= SHOWN_TEXT) {
        table = h('pre', { class: 'review-copy' }, text);
      } else {
        // Too long to show: say so, and this page will not approve it.
        cut = true;
        table = h('div', {},
          h('p', { role: 'alert', class: 'error', 'data-cut': 'true' },
            `Only the first ${SHOWN_TEXT} of ${text.length} characters are shown; read the whole file before `,
            'deciding (approving it is not offered here).'),
          h('pre', { class: 'review-copy' }, text.slice(0, SHOWN_TEXT)));
      }
    } catch (error) {
      table = h('p', { role: 'alert', class: 'error' }, `Review copy not available: ${error.message}`);
    }
    sections.push(fileSection(release, file, index, table, cut));
  }
  const form = h('form', { id: 'review', onsubmit: async (event) => {
    event.preventDefault();
    const files = [];
    for (const [index, file] of (release.files || []).entries()) {
      const id = `f-${index}`;
      const chosen = form.querySelector(`input[name="d-${id}"]:checked`);
      if (!chosen) { say(`Choose approve or reject for ${file.name}.`); return; }
      files.push({ file: file.name, decision: chosen.value,
                   explanation: form.querySelector(`#e-${id}`).value.trim() });
    }
    try {
      const after = await call('Releases/ReviewRelease', { releaseId: release.id, files });
      say(`Review recorded: release ${after.id} is ${enumText(after.state, 'RELEASE_STATE_')}.`);
      await review(release.id);
    } catch (error) {
      say(`Not recorded: ${error.message}`);
    }
  } }, sections, h('button', { type: 'submit' }, 'Record my review'));
  show(h('h1', {}, `Release ${release.id}`),
       h('p', {}, `Project ${release.projectId}, analysis ${release.analysisId}, requested by ${release.requester}; `,
         h('strong', { id: 'state' }, enumText(release.state, 'RELEASE_STATE_')),
         release.stateReason ? ` (${release.stateReason})` : ''),
       h('p', { class: 'legend' }, 'Cells: ', h('span', { class: 'v-pass' }, 'pass'), ' ',
         h('span', { class: 'v-suppressed' }, 'suppressed'), ' ', h('span', { class: 'v-review' }, 'needs review'),
         '; hover or focus a cell for the rule behind it.'),
       h('h2', {}, 'Reviews so far'),
       (release.reviews || []).length === 0 ? h('p', {}, 'None yet.') :
         h('ul', { id: 'reviews' }, release.reviews.map((r) => h('li', {}, `${r.reviewer}: `,
           r.files.map((f) => `${f.file} ${enumText(f.decision, 'FILE_DECISION_')}${f.explanation ? ` (“${f.explanation}”)` : ''}`).join('; ')))),
       release.state === 'RELEASE_STATE_IN_REVIEW' ? form : h('p', {}, 'This release takes no more reviews.'));
}
