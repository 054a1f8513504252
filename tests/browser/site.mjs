// A real trenode for the browser tests, signed in to through the real OIDC
// test issuer (tests/oidc/mock_issuer.mjs): its own PKI made with trectl, a
// small synthetic site, and the set-up every test shares (a project, an
// approved two-table query, a release in review), made with trectl and the
// issuer's tokens exactly as people would.
import { execFileSync, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import net from 'node:net';

// A loopback port free now (the node's config refuses the same "host:0"
// for gRPC and the web listener).
async function freePort() {
  const server = net.createServer().listen(0, '127.0.0.1');
  await new Promise((r) => server.on('listening', r));
  const { port } = server.address();
  await new Promise((r) => server.close(r));
  return port;
}
import path from 'node:path';

export class Issuer {
  constructor(oidcDir, key, cert) {
    this.process = spawn('node', [path.join(oidcDir, 'mock_issuer.mjs'), key, cert],
                         { cwd: oidcDir, stdio: ['pipe', 'pipe', 'inherit'] });
    this.lines = createInterface({ input: this.process.stdout })[Symbol.asyncIterator]();
  }
  async start() { this.url = JSON.parse((await this.lines.next()).value).issuer; }
  async ask(request) {
    this.process.stdin.write(`${JSON.stringify(request)}\n`);
    const reply = JSON.parse((await this.lines.next()).value);
    if (reply.error) throw new Error(reply.error);
    return reply;
  }
  async token(sub, roles) { return (await this.ask({ mint: { kid: 'rsa-1', sub, aud: 'trenode', roles } })).token; }
  // The next browser sign-in is this person.
  // `options`: {idTokenExpired} (tests/oidc/mock_issuer.mjs).
  async nextLogin(sub, roles, options = {}) { await this.ask({ login: { sub, aud: 'trenode', roles, ...options } }); }
  stop() { this.process.stdin.end(); }
}

export const ROLES = { researcher: 'tre-researcher', data_steward: 'tre-steward',
                       output_checker: 'tre-checker', auditor: 'tre-auditor', node_admin: 'tre-admin' };

export class Site {
  constructor(binDir, oidcDir) {
    this.binDir = binDir;
    this.oidcDir = oidcDir;
    this.root = mkdtempSync(path.join(tmpdir(), 'trenode-browser-'));
    this.pki = path.join(this.root, 'pki');
  }

  trectlLocal(...args) {
    return execFileSync(path.join(this.binDir, 'trectl'), args, { encoding: 'utf8', timeout: 120000 });
  }

  async trectl(token, ...args) {
    return execFileSync(path.join(this.binDir, 'trectl'), args, {
      encoding: 'utf8', timeout: 120000,
      env: { ...process.env, TRENODE_NODE: this.grpcAddress, TRENODE_CA: path.join(this.pki, 'ca.pem'),
             TRENODE_TOKEN: token } });
  }

  async start() {
    this.trectlLocal('pki', 'init', '--dir', this.pki);
    this.trectlLocal('pki', 'issue', '--dir', this.pki, '--node', 'web-site');
    this.trectlLocal('pki', 'issue', '--dir', this.pki, '--node', 'idp');
    this.trectlLocal('pki', 'log-key', '--dir', this.pki, '--origin', 'trenode.test/web-site');
    this.logKey = readFileSync(path.join(this.pki, 'log.pub'), 'utf8').trim();
    execFileSync(path.join(this.binDir, 'trenode-synth'),
                 ['--seed', '1', '--persons', '3000', '--out', path.join(this.root, 'site1')]);
    this.issuer = new Issuer(this.oidcDir, path.join(this.pki, 'idp.key'), path.join(this.pki, 'idp.pem'));
    await this.issuer.start();
    const mappings = Object.entries(ROLES).map(([role, claim]) =>
      `  role_mappings { claim_value: "${claim}" role: ROLE_${role.toUpperCase()} }`).join('\n');
    writeFileSync(path.join(this.root, 'node.textproto'), `node_id: "web-site"
listen_address: "127.0.0.1:0"
database_path: "state/node.db"
object_store { posix { root: "objects" } }
tls { certificate_file: "pki/web-site.pem" private_key_file: "pki/web-site.key" client_ca_file: "pki/ca.pem" }
oidc {
  issuer: "${this.issuer.url}"
  audiences: "trenode"
  jwks_uri: "${this.issuer.url}/jwks"
  jwks_ca_file: "pki/ca.pem"
  roles_claim: "realm_access.roles"
${mappings}
}
activity_log { signing_key_file: "pki/log.key" checkpoint_interval_seconds: 1 }
web { listen_address: "127.0.0.1:${await freePort()}" }
`);
    const portFile = path.join(this.root, 'port');
    this.node = spawn(path.join(this.binDir, 'trenode'), ['--config', 'node.textproto', '--port-file', portFile],
                      { cwd: this.root, stdio: ['ignore', 'pipe', 'inherit'] });
    for await (const line of createInterface({ input: this.node.stdout })) {
      const match = /JSON API on https port (\d+)/.exec(line);
      if (match) { this.webPort = Number(match[1]); break; }
    }
    if (!this.webPort) throw new Error('trenode did not start its JSON API');
    this.node.stdout.resume();
    this.grpcAddress = `127.0.0.1:${readFileSync(portFile, 'utf8').trim()}`;
    this.origin = `https://127.0.0.1:${this.webPort}`;
    this.database = path.join(this.root, 'state', 'node.db');
  }

  async token(subject, ...roles) { return this.issuer.token(subject, roles.map((r) => ROLES[r])); }

  // A two-table query by researcher `ada` in project hf, submitted and
  // awaiting a steward's approval: returns its analysis's id.
  async submitQuery(requestId) {
    const steward = await this.token('sam', 'data_steward');
    const ada = await this.token('ada', 'researcher');
    if (!this.imported) {
      await this.trectl(steward, 'dataset', 'import', path.join(this.root, 'site1'));
      await this.trectl(ada, 'project', 'create', 'hf', '--title', 'Heart failure', '--lay-summary',
                        'Undiagnosed heart failure', '--institution', 'Test University', '--datasets', 'synth-ehr-1');
      await this.trectl(steward, 'project', 'approve', 'hf', '--reference', 'REC 1', '--expires', '2099-12-31',
                        '--datasets', 'synth-ehr-1');
      await this.trectl(steward, 'training', 'record', 'ada@web-site', '--course', 'Safe Researcher',
                        '--completed', '2026-01-01', '--expires', '2099-01-01');
      this.imported = true;
    }
    const query = path.join(this.root, `${requestId}.textproto`);
    writeFileSync(query, `dataset_id: "synth-ehr-1"
index_date: "2026-01-01"
cohort { all_of { criteria { events { filter { table: "measurement" code_column: "measurement_code"
         codes: "250908004" value_column: "value_as_number" value_comparison: COMPARISON_LT value: 40 } } } } }
outputs { name: "by_age_sex" counts {
  group_by { variable { age { birth_column: "year_of_birth" } } binning { boundaries: [ 50, 60, 70, 80 ] } label: "age_band" }
  group_by { variable { column: "sex" } } } }
outputs { name: "by_sex" counts { group_by { variable { column: "sex" } } } }
`);
    const submitted = await this.trectl(ada, 'analysis', 'submit', '--project', 'hf', '--query', query,
                                        '--request-id', requestId, '--purpose', 'Reduced LVEF by age and sex');
    return /^id:\s*(\S+)/m.exec(submitted)[1];
  }

  // A release in review of a two-table query by researcher `ada`:
  // returns its id and its analysis's id.
  async releaseInReview(requestId) {
    const steward = await this.token('sam', 'data_steward');
    const ada = await this.token('ada', 'researcher');
    const analysisId = await this.submitQuery(requestId);
    await this.trectl(steward, 'analysis', 'approve', analysisId);
    await this.trectl(ada, 'analysis', 'watch', analysisId);
    const created = await this.trectl(ada, 'release', 'create', analysisId);
    const releaseId = /^id:\s*(\S+)/m.exec(created)[1];
    await this.trectl(ada, 'release', 'submit', releaseId);
    return { releaseId, analysisId };
  }

  // Stops the issuer and the node, and removes the site's files once the
  // node has exited (it writes its database until then).
  async stop() {
    this.issuer?.stop();
    if (this.node && this.node.exitCode === null && this.node.signalCode === null) {
      const exited = new Promise((resolve) => this.node.once('exit', resolve));
      this.node.kill('SIGTERM');
      await exited;
    }
    rmSync(this.root, { recursive: true, force: true });
  }
}
