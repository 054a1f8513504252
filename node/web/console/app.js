// The web console's shell (spec/web-console.md): reads the node's sign-in
// settings, completes or offers a sign-in, offers the person's roles, and
// shows the pages of the chosen role. Every decision is the node's: a page
// shows what its calls return, or the refusal.
import * as auth from './auth.js';
import { h, show, showError, say, beginPage, isCurrent } from './dom.js';
import * as checker from './checker.js';
import * as researcher from './researcher.js';
import * as steward from './steward.js';
import * as auditor from './auditor.js';
import * as admin from './admin.js';

// Each role's pages: [hash, label, render(args)].
const PAGES = {
  output_checker: [['queue', 'Review queue', checker.queue], ['review', null, checker.review]],
  researcher: [['catalogue', 'Catalogue', researcher.catalogue], ['dataset', null, researcher.dataset],
               ['projects', 'Projects', researcher.projects], ['analyses', 'Analyses', researcher.analyses],
               ['releases', 'Releases', researcher.releases], ['release', null, researcher.release]],
  data_steward: [['approvals', 'Approvals', steward.approvals], ['training', 'Training', steward.training]],
  auditor: [['log', 'Activity log', auditor.log], ['verify', 'Verify', auditor.verify]],
  node_admin: [['partners', 'Partners', admin.partners]],
};
const ROLE_LABELS = { researcher: 'Researcher', data_steward: 'Data steward',
                      output_checker: 'Output checker', auditor: 'Auditor', node_admin: 'Node admin' };

let config = null;

function renderBar() {
  const session = auth.current();
  const nav = document.getElementById('nav');
  const who = document.getElementById('who');
  if (!session) {
    nav.replaceChildren();
    who.replaceChildren();
    return;
  }
  const links = (PAGES[session.role] || []).filter(([, label]) => label)
    .map(([hash, label]) => h('a', { href: `#/${hash}` }, label));
  nav.replaceChildren(...links);
  const switcher = h('select', { id: 'role', 'aria-label': 'Acting as', onchange: (e) => {
    auth.chooseRole(e.target.value);
    location.hash = `#/${PAGES[session.role][0][0]}`;
    renderBar();
    route();
  } }, session.roles.map((r) => h('option', { value: r, selected: r === session.role }, ROLE_LABELS[r])));
  // One role: nothing to choose, so no control.
  const acting = session.roles.length < 2
    ? ['acting as ', h('strong', { id: 'role-name' }, ROLE_LABELS[session.role] || 'no role')]
    : [h('label', { for: 'role' }, 'acting as'), ' ', switcher];
  who.replaceChildren(h('span', { id: 'subject' }, session.subject), ' ', ...acting, ' ',
                      h('button', { id: 'signout', onclick: () => auth.signOut() }, 'Sign out'));
}

function signedOut(message) {
  show(h('h1', {}, 'trenode console'),
       message ? h('p', { role: 'alert', class: 'error' }, message) : null,
       config.clientId
         ? h('button', { id: 'signin', onclick: () => auth.signIn(config).catch((e) => signedOut(e.message)) },
             'Sign in')
         : h('p', {}, 'This node has no OIDC issuer for the console: use trectl.'));
}

async function route() {
  const session = auth.current();
  if (!session) return signedOut();
  if (!session.role) {
    return show(h('h1', {}, 'No role here'),
                h('p', { role: 'alert' }, 'Your token maps to none of this node\'s roles.'));
  }
  const [name, ...args] = location.hash.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  const pages = PAGES[session.role];
  const page = pages.find(([hash]) => hash === name) || pages[0];
  say('');
  // A page left before its calls end must not cover the next one with its
  // refusal.
  const mine = beginPage();
  // While a page's calls are in flight it is busy (for screen readers, and
  // for anyone waiting until what is shown is this route's page).
  const element = document.getElementById('page');
  element.dataset.route = location.hash;
  element.setAttribute('aria-busy', 'true');
  try {
    await page[2](...args);
  } catch (error) {
    if (isCurrent(mine)) showError(error);
  } finally {
    if (isCurrent(mine)) element.removeAttribute('aria-busy');
  }
}

async function start() {
  config = await (await fetch('/console/config.json')).json();
  try {
    await auth.completeSignIn(config);
  } catch (error) {
    return signedOut(error.message);
  }
  renderBar();
  window.addEventListener('hashchange', route);
  await route();
}

start();
