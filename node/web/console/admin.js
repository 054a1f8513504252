// Node admin's page: this node, its partners and their health, witness
// alarms, and its backends.
import { call } from './api.js';
import { h, view, enumText } from './dom.js';

export async function partners() {
  const { show } = view();
  const info = await call('Federation/GetNodeInfo', {});
  const { partners: list = [] } = await call('Federation/ListPartners', {});
  const { logs = [] } = await call('Federation/GetWitnessStatus', {});
  show(h('h1', {}, `Node ${info.nodeId}`),
    h('p', {}, `${info.institution || ''} — interface ${info.interfaceVersion} r${info.interfaceRevision}; backends: `,
      (info.computeBackends || []).join(', ') || '—'),
    h('h2', {}, 'Partners'),
    list.length === 0 ? h('p', {}, 'No partners.') :
      h('table', { class: 'list' }, h('thead', {}, h('tr', {}, ['Partner', 'Address', 'Health', 'Latency', 'Detail']
        .map((t) => h('th', { scope: 'col' }, t)))),
      h('tbody', {}, list.map((p) => h('tr', {}, h('td', {}, p.nodeId), h('td', {}, p.address || 'dials in'),
        h('td', {}, enumText(p.reachability, 'REACHABILITY_')), h('td', {}, p.latencyMs ? `${p.latencyMs} ms` : '—'),
        h('td', {}, p.detail || ''))))),
    h('h2', {}, 'Witnessed logs'),
    logs.length === 0 ? h('p', {}, 'No partner logs witnessed yet.') :
      h('ul', {}, logs.map((l) => h('li', {}, `${l.nodeId}: size ${l.size}, checked ${l.checked || 'never'}`,
        l.lastError ? h('span', { class: 'error' }, ` — ${l.lastError}`) : '',
        (l.alarms || []).length ? h('ul', { class: 'alarms', role: 'alert' }, l.alarms.map((a) =>
          h('li', {}, `ALARM ${a.raised}: ${a.detail}`))) : ''))));
}
