// Auditor's pages: the activity log with filters and a live tail, and a
// verification in this browser of the checkpoint's signature and each shown
// entry's inclusion proof, trusting only the log key the auditor pastes.
import { call, stream } from './api.js';
import { h, view } from './dom.js';
import { fromBase64, parseVerifierKey, verifyCheckpoint, verifyEntries, parseLeaf, hasEd25519, NO_ED25519 } from './merkle.js';

const SHOWN = 200;
let tail = null;
window.addEventListener('hashchange', () => { if (tail) tail.abort(); tail = null; });

function entryRow(entry) {
  const f = parseLeaf(fromBase64(entry.leaf));
  return h('tr', { 'data-index': entry.index || '0' }, [entry.index || '0', f.time, f.actor, f.role, f.action,
    f.object, f.project, f.outcome, f.reason].map((v) => h('td', {}, v ?? '')));
}

export async function log() {
  const { show, say } = view();
  if (tail) tail.abort();
  const filters = {};
  const inputs = ['actor', 'action', 'project'].map((name) => {
    const input = h('input', { id: `f-${name}`, name });
    return [name, input];
  });
  const body = h('tbody');
  // A refused call shows the refusal in place of the entries.
  const refused = (x) => body.replaceChildren(h('tr', {}, h('td', { colspan: 9, role: 'alert', class: 'error' }, `${x.code || 'error'}: ${x.message}`)));
  const live = h('input', { type: 'checkbox', id: 'live' });
  const load = async () => {
    if (tail) tail.abort();
    for (const [name, input] of inputs) filters[name] = input.value.trim() || undefined;
    const checkpoint = await call('ActivityLog/GetCheckpoint', {});
    const size = Number(checkpoint.size || 0);
    const start = Math.max(0, size - SHOWN);
    const rows = [];
    if (size > 0) await stream('ActivityLog/GetEntries', { start, end: size, ...filters }, (e) => rows.push(e));
    body.replaceChildren(...rows.reverse().map(entryRow));
    if (live.checked) {
      tail = new AbortController();
      stream('ActivityLog/WatchEntries', { start: size, ...filters }, (e) => body.prepend(entryRow(e)), tail.signal)
        .catch((error) => { if (error.name !== 'AbortError') say(`Live tail ended: ${error.message}`); });
    }
    say(`Entries ${start} to ${size - 1} of ${size}${live.checked ? ', and new ones as they come' : ''}.`);
  };
  show(h('h1', {}, 'Activity log'),
    h('form', { onsubmit: (e) => { e.preventDefault(); load().catch(refused); } },
      inputs.map(([name, input]) => [h('label', { for: input.id }, name), ' ', input, ' ']),
      live, ' ', h('label', { for: 'live' }, 'live tail'), ' ', h('button', { type: 'submit' }, 'Show')),
    h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['#', 'time', 'actor', 'role', 'action', 'object', 'project', 'outcome', 'reason']
      .map((t) => h('th', { scope: 'col' }, t)))), body));
  await load().catch(refused);
}

export async function verify() {
  const { show } = view();
  // Said before anything is pasted, rather than as an obscure failure after.
  const ed25519 = await hasEd25519();
  const keyInput = h('textarea', { id: 'log-key', rows: 2, cols: 80 });
  const count = h('input', { id: 'count', type: 'number', min: 1, max: 10000, value: 50 });
  const result = h('div', { id: 'verify-result', role: 'status', 'aria-live': 'polite' });
  const run = async () => {
    result.replaceChildren(h('p', {}, 'Verifying…'));
    const key = await parseVerifierKey(keyInput.value);
    const checkpoint = await call('ActivityLog/GetCheckpoint', {});
    const tree = await verifyCheckpoint(checkpoint.note, key);
    const start = Math.max(0, tree.size - Number(count.value || 50));
    const entries = [];
    await stream('ActivityLog/GetEntries', { start, end: tree.size }, (e) => entries.push(e));
    const failed = await verifyEntries(entries, start, tree.size, tree.root, async (index) =>
      ((await call('ActivityLog/GetInclusionProof', { index, treeSize: tree.size })).hashes || []).map(fromBase64));
    result.replaceChildren(failed.length === 0
      ? h('p', { class: 'ok', 'data-outcome': 'verified' }, `Verified: checkpoint of ${tree.size} entries signed by ${key.name}; entries ${start} to ${tree.size - 1} are in it.`)
      : h('p', { class: 'error', role: 'alert', 'data-outcome': 'failed' }, `FAILED: entries not in the signed tree: ${failed.join(', ')}`));
  };
  show(h('h1', {}, 'Verify the activity log'),
    ed25519 ? null : h('p', { role: 'alert', class: 'error', id: 'no-ed25519' }, `Not possible here: ${NO_ED25519}.`),
    h('p', {}, 'Paste the log key you obtained from the node\'s operators (log.pub), not one this page shows you.'),
    h('form', { onsubmit: (e) => {
      e.preventDefault();
      run().catch((x) => result.replaceChildren(h('p', { class: 'error', role: 'alert', 'data-outcome': 'failed' }, `FAILED: ${x.message}`)));
    } }, h('label', { for: 'log-key' }, 'Log key'), h('br'), keyInput, h('br'),
      h('label', { for: 'count' }, 'Latest entries to check'), ' ', count, ' ',
      h('button', { type: 'submit', id: 'verify', disabled: !ed25519 }, 'Verify')),
    result);
}
