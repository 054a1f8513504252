// Data steward's pages: what waits for a decision (proposed projects,
// proposed members, analyses awaiting approval, script bundles uploaded for
// projects and not yet approved for them) and training records. Each button is one call; the node decides and logs it.
import { call } from './api.js';
import { h, view, say, enumText, busyWhile } from './dom.js';

function act(label, method, request, after) {
  return h('button', { onclick: () => busyWhile(async () => {
    try { await call(method, request); say(`${label}: done.`); await after(); } catch (e) { say(`${label}: ${e.message}`); }
  }) }, label);
}

export async function approvals() {
  const { show } = view();
  const { projects = [] } = await call('Governance/ListProjects', {});
  const { analyses = [] } = await call('Analyses/ListAnalyses', { state: 'ANALYSIS_STATE_AWAITING_APPROVAL', pageSize: 50 });
  const { proposals = [] } = await call('Analyses/ListBundles', { awaitingApproval: true, pageSize: 100 });
  const proposedMembers = [];
  for (const p of projects.filter((x) => x.state === 'PROJECT_STATE_APPROVED')) {
    const { members = [] } = await call('Governance/ListMembers', { projectId: p.id });
    proposedMembers.push(...members.filter((m) => m.state === 'MEMBERSHIP_STATE_PROPOSED'));
  }
  const reference = h('input', { id: 'ref' });
  const expires = h('input', { id: 'exp', type: 'date' });
  const bundleHash = h('input', { id: 'bundle', size: 64, placeholder: 'sha256' });
  const bundleOut = h('div');
  const manifest = (b) => {
    const m = b.manifest || {};
    return h('details', {}, h('summary', {}, `${m.entryPoint} reads ${(m.datasets || []).join(', ')}; writes ${(m.outputs || []).join(', ')}`),
      h('ul', {}, (b.files || []).map((f) => h('li', {}, `${f.path} (${f.size || 0} bytes)`))));
  };
  show(h('h1', {}, 'Approvals'),
    h('h2', {}, 'Projects'),
    h('p', {}, h('label', { for: 'ref' }, 'Approval reference'), ' ', reference, ' ',
      h('label', { for: 'exp' }, 'expires'), ' ', expires),
    h('ul', {}, projects.filter((p) => p.state === 'PROJECT_STATE_PROPOSED').map((p) => h('li', { 'data-project': p.id },
      `${p.id}: ${p.title} (${(p.requestedDatasetIds || []).join(', ')}) `,
      h('button', { onclick: () => busyWhile(async () => {
        try {
          await call('Governance/ApproveProject', { projectId: p.id, reference: reference.value,
            expires: expires.value ? `${expires.value}T23:59:59Z` : undefined, datasetIds: p.requestedDatasetIds || [] });
          say(`Approved ${p.id}.`); await approvals();
        } catch (e) { say(`Not approved: ${e.message}`); }
      }) }, 'Approve'), ' ',
      act('Reject', 'Governance/RejectProject', { projectId: p.id, reason: 'rejected in the console' }, approvals)))),
    h('h2', {}, 'Members'),
    h('ul', {}, proposedMembers.map((m) => h('li', { 'data-project': m.projectId, 'data-member': m.person }, `${m.person} in ${m.projectId} `,
      act('Approve', 'Governance/ApproveMember', { projectId: m.projectId, person: m.person }, approvals)))),
    h('h2', {}, 'Analyses'),
    h('ul', {}, analyses.map((a) => h('li', { 'data-analysis': a.id }, `${a.id} (${a.projectId}): ${a.purpose} `,
      act('Approve', 'Analyses/ApproveAnalysis', { analysisId: a.id }, approvals), ' ',
      act('Reject', 'Analyses/RejectAnalysis', { analysisId: a.id, reason: 'rejected in the console' }, approvals)))),
    h('h2', {}, 'Bundles'),
    h('p', {}, 'Uploaded for a project and not yet approved for it. Approved, the same bytes then run in that project without review.'),
    h('ul', {}, proposals.map((p) => h('li', { 'data-bundle': p.bundle.sha256, 'data-bundle-project': p.projectId },
      `${p.bundle.sha256.slice(0, 12)}… for ${p.projectId}, uploaded by ${p.proposedBy} `,
      act(`Approve for ${p.projectId}`, 'Analyses/ApproveBundle', { projectId: p.projectId, sha256: p.bundle.sha256 }, approvals),
      manifest(p.bundle)))),
    h('form', { onsubmit: async (e) => {
      e.preventDefault();
      try {
        const b = await call('Analyses/GetBundle', { sha256: bundleHash.value.trim() });
        bundleOut.replaceChildren(h('p', {}, `${b.sha256}, uploaded by ${b.uploadedBy}; approved for: `
          + ((b.approvals || []).map((a) => a.projectId).join(', ') || 'no project')), manifest(b));
      } catch (error) { bundleOut.replaceChildren(h('p', { role: 'alert', class: 'error' }, error.message)); }
    } }, h('label', { for: 'bundle' }, 'Look up a bundle by its hash'), ' ', bundleHash, ' ', h('button', { type: 'submit' }, 'Show')),
    bundleOut);
}

export async function training(person = '') {
  const { show } = view();
  const who = h('input', { id: 'person', value: person, placeholder: 'subject@node' });
  const list = h('div');
  const course = h('input', { id: 'course' });
  const completed = h('input', { id: 'completed', type: 'date' });
  const until = h('input', { id: 'until', type: 'date' });
  const load = async () => {
    const { records = [] } = await call('Governance/ListTraining', { person: who.value.trim() });
    list.replaceChildren(records.length === 0 ? h('p', {}, 'No records.') : h('ul', {}, records.map((r) =>
      h('li', {}, `${r.person}: ${r.course}, completed ${r.completed}, expires ${r.expires} (recorded by ${r.recordedBy})`))));
  };
  show(h('h1', {}, 'Training records'),
    h('form', { onsubmit: (e) => { e.preventDefault(); load().catch((x) => say(x.message)); } },
      h('label', { for: 'person' }, 'Person'), ' ', who, ' ', h('button', { type: 'submit' }, 'Show')),
    list,
    h('h2', {}, 'Record training'),
    h('form', { onsubmit: (e) => {
      e.preventDefault();
      return busyWhile(async () => { try {
        await call('Governance/RecordTraining', { record: { person: who.value.trim(), course: course.value,
          completed: completed.value, expires: until.value } });
        say('Recorded.'); await load();
      } catch (x) { say(`Not recorded: ${x.message}`); } });
    } }, h('label', { for: 'course' }, 'Course'), ' ', course, ' ', h('label', { for: 'completed' }, 'completed'), ' ',
      completed, ' ', h('label', { for: 'until' }, 'expires'), ' ', until, ' ', h('button', { type: 'submit' }, 'Record')));
  if (person) await load();
}
