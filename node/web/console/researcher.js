// Researcher's pages: catalogue search and dataset pages, projects and
// access, analyses with live status (and each site's, for federated ones),
// releases with a chart of each released table and a download button.
// The node shows a researcher only their own releases, and file-level
// verdicts only; nothing here asks for more.
import { call, stream, downloadFile } from './api.js';
import { h, view, say, enumText, parseCsv } from './dom.js';
import { drawTable, drawChart } from './tables.js';

let watching = null; // the live analyses watch, ended when the page changes
function stopWatching() { if (watching) watching.abort(); watching = null; }
window.addEventListener('hashchange', stopWatching);

export async function catalogue(query = '') {
  const { show } = view();
  const results = h('div', { id: 'results' });
  const search = async (text) => {
    const { hits = [] } = await call('Catalogue/SearchDatasets', { query: text, pageSize: 20 });
    results.replaceChildren(hits.length === 0 ? h('p', {}, 'No dataset matches.') :
      h('ul', {}, hits.map(({ dataset: d }) => h('li', {}, h('a', { href: `#/dataset/${encodeURIComponent(d.id)}` }, d.title),
        ` — ${d.publisher || ''} `, h('span', { class: 'muted' }, (d.keywords || []).join(', '))))));
  };
  const input = h('input', { id: 'q', type: 'search', value: query });
  show(h('h1', {}, 'Catalogue'),
       h('form', { role: 'search', onsubmit: (e) => { e.preventDefault(); search(input.value).catch((x) => say(x.message)); } },
         h('label', { for: 'q' }, 'Search datasets'), ' ', input, ' ', h('button', { type: 'submit' }, 'Search')),
       results);
  if (query) await search(query);
}

export async function dataset(id) {
  const { show } = view();
  const d = await call('Catalogue/GetDataset', { id });
  show(h('h1', {}, d.title),
       h('p', {}, d.description),
       h('dl', {}, h('dt', {}, 'Id'), h('dd', {}, `${d.id} (version ${d.version})`),
         h('dt', {}, 'Publisher'), h('dd', {}, d.publisher || '—'),
         h('dt', {}, 'Access'), h('dd', {}, d.accessConditions || '—'),
         h('dt', {}, 'Keywords'), h('dd', {}, (d.keywords || []).join(', ') || '—')),
       h('h2', {}, 'Tables'),
       h('ul', {}, (d.tables || []).map((t) => h('li', {}, `${t.name}: `, (t.columns || []).map((c) => c.name).join(', ')))));
}

export async function projects() {
  const { show } = view();
  const { projects: list = [] } = await call('Governance/ListProjects', {});
  const rows = [];
  for (const p of list) {
    let access = '—';
    if (p.state === 'PROJECT_STATE_APPROVED') {
      try {
        const decision = await call('Governance/CheckAccess', { projectId: p.id, datasetIds: p.approval?.datasetIds || [] });
        access = decision.allowed ? 'you have access' : (decision.reason || 'no access');
      } catch (error) { access = error.message; }
    }
    rows.push(h('tr', {}, h('td', {}, p.id), h('td', {}, p.title),
      h('td', {}, enumText(p.state, 'PROJECT_STATE_')), h('td', {}, access)));
  }
  show(h('h1', {}, 'Projects'), list.length === 0 ? h('p', {}, 'No projects.') :
    h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Project', 'Title', 'State', 'Access']
      .map((t) => h('th', { scope: 'col' }, t)))), h('tbody', {}, rows)));
}

// A federated analysis's sites (SiteStatus), each with its state and the
// node's own reason: answered, refused, held for review, timed out, ...
function siteList(sites) {
  if (!sites?.length) return '—';
  return h('ul', { class: 'sites' }, sites.map((s) => h('li', { 'data-site': s.nodeId },
    `${s.nodeId}: `, h('span', { class: 'site-state' }, enumText(s.state, 'STATE_') || 'unknown'),
    s.reason ? ` (${s.reason})` : '', s.state === 'STATE_ANSWERED' && !s.visible ? ', pooled only' : '')));
}

function analysisRow(a) {
  return h('tr', { 'data-analysis': a.id }, h('td', {}, a.id), h('td', {}, a.projectId), h('td', {}, a.purpose),
    h('td', { class: 'state' }, enumText(a.state, 'ANALYSIS_STATE_')), h('td', { class: 'sites' }, siteList(a.sites)));
}

export async function analyses() {
  const { show } = view();
  stopWatching();
  const { analyses: list = [] } = await call('Analyses/ListAnalyses', { pageSize: 50 });
  const body = h('tbody', {}, list.map(analysisRow));
  show(h('h1', {}, 'Analyses'), list.length === 0 ? h('p', {}, 'No analyses.') :
    h('table', { class: 'list', 'aria-live': 'polite' }, h('thead', {}, h('tr', {}, ['Analysis', 'Project', 'Purpose', 'State', 'Sites']
      .map((t) => h('th', { scope: 'col' }, t)))), body));
  // Live status: each unfinished analysis is watched; an event re-reads it.
  watching = new AbortController();
  const signal = watching.signal;
  for (const a of list.filter((x) => !/SUCCEEDED|FAILED|REJECTED|CANCELLED/.test(x.state))) {
    stream('Analyses/WatchAnalysis', { analysisId: a.id }, async () => {
      const now = await call('Analyses/GetAnalysis', { analysisId: a.id });
      body.querySelector(`tr[data-analysis="${CSS.escape(a.id)}"]`)?.replaceWith(analysisRow(now));
    }, signal).catch(() => {});
  }
}

export async function releases() {
  const { show } = view();
  const { releases: list = [] } = await call('Releases/ListReleases', {});
  show(h('h1', {}, 'Releases'), list.length === 0 ? h('p', {}, 'No releases.') :
    h('ul', {}, list.map((r) => h('li', {}, h('a', { href: `#/release/${r.id}` }, r.id),
      ` — analysis ${r.analysisId}, ${enumText(r.state, 'RELEASE_STATE_')}`))));
}

function save(blob, name) {
  const url = URL.createObjectURL(blob);
  const link = h('a', { href: url, download: name });
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}

export async function release(releaseId) {
  const { show } = view();
  const r = await call('Releases/GetRelease', { releaseId });
  const released = r.state === 'RELEASE_STATE_RELEASED';
  const sections = [];
  for (const file of r.files || []) {
    const parts = [h('h2', {}, file.name), h('p', {}, file.requesterSummary || file.verdictSummary || '')];
    if (file.withheld) {
      parts.push(h('p', { class: 'error' }, `Withheld: ${file.withheldReason}`));
    } else if (released) {
      // Each fetch counts against the release's download cap, so the file
      // is fetched once, when asked for, and saved from those bytes.
      const shown = h('div', { class: 'shown' });
      const open = h('button', { class: 'open', 'data-file': file.name, onclick: async () => {
        try {
          const blob = await downloadFile(r.id, file.name);
          const text = await blob.text();
          shown.replaceChildren(
            ...(/\.csv$/.test(file.name) && parseCsv(text).length > 1
              ? [drawChart(text, file.name), drawTable(text, null, file.name)] : []),
            h('button', { class: 'download', 'data-file': file.name,
                          onclick: () => { save(blob, file.name); say(`Saved ${file.name}.`); } },
              `Save ${file.name}`));
          open.remove();
        } catch (error) {
          shown.replaceChildren(h('p', { role: 'alert', class: 'error' }, error.message));
        }
      } }, `Open ${file.name} (counts as a download)`);
      parts.push(h('p', { class: 'muted' }, `SHA-256 ${file.sha256}; downloaded ${file.downloads || 0} times`), open, shown);
    }
    sections.push(h('section', { class: 'file', 'data-file': file.name }, parts));
  }
  show(h('h1', {}, `Release ${r.id}`),
       h('p', {}, `Analysis ${r.analysisId}: `, h('strong', { id: 'state' }, enumText(r.state, 'RELEASE_STATE_'))),
       sections);
}
