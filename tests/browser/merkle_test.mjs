// The console's in-browser log verification (node/web/console/merkle.js),
// run under node's WebCrypto against the golden RFC 9162 inclusion vectors
// (tests/testdata/merkle) and the C2SP signed-note known answer
// (tests/testdata/signed-note): every valid proof verifies, every invalid
// one (wantErr) is refused, a changed signature or note fails.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import * as merkle from '../../node/web/console/merkle.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const inclusion = path.join(here, '..', 'testdata', 'merkle', 'inclusion');

test('golden inclusion vectors', async () => {
  let valid = 0, invalid = 0;
  const files = readdirSync(inclusion, { recursive: true }).filter((f) => f.endsWith('.json'))
    .map((f) => path.join(inclusion, f));
  for (const name of files) {
    const c = JSON.parse(readFileSync(name, 'utf8'));
    const proof = (c.proof || []).map(merkle.fromBase64);
    const root = await merkle.rootFromInclusionProof(Number(c.leafIdx), Number(c.treeSize),
                                                     merkle.fromBase64(c.leafHash), proof);
    const ok = root !== null && Buffer.from(root).equals(Buffer.from(merkle.fromBase64(c.root)));
    assert.equal(ok, !c.wantErr, name);
    if (c.wantErr) invalid++; else valid++;
  }
  assert.ok(valid > 0 && invalid > 0);
});

test('signed-note known answer, and what breaks it', async () => {
  const key = await merkle.parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  const signature = 'Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=';
  // verifyCheckpoint needs the note's first line to be the origin.
  await assert.rejects(merkle.verifyCheckpoint(`This is an example message.\n\n\u2014 example.com/foo ${signature}\n`, key),
                       /is for This is an example message/);
  const verifier = await crypto.subtle.importKey('raw', key.publicKey, { name: 'Ed25519' }, false, ['verify']);
  const blob = merkle.fromBase64(signature);
  assert.ok(await crypto.subtle.verify('Ed25519', verifier, blob.slice(4), new TextEncoder().encode('This is an example message.\n')));
  await assert.rejects(merkle.parseVerifierKey('example.com/foo+530d903b+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k'),
                       /id does not match/);
  await assert.rejects(merkle.parseVerifierKey('example.com/foo+530d903a'), /log key is/);
  // A key whose base64 holds '+' (as a random key's often does) still parses.
  const pub = new Uint8Array(32).fill(0xfb);
  const encoded = Buffer.from([1, ...pub]).toString('base64');
  assert.ok(encoded.includes('+'), encoded);
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', Buffer.concat([Buffer.from('o.test\n'), Buffer.from([1, ...pub])])));
  const id = Buffer.from(digest.slice(0, 4)).toString('hex');
  const parsed = await merkle.parseVerifierKey(`o.test+${id}+${encoded}`);
  assert.equal(parsed.name, 'o.test');
  assert.deepEqual([...parsed.publicKey], [...pub]);
});

// RFC 9162 §2.1.1 tree hash and §2.1.3.1 inclusion path, for test trees.
async function treeHash(leaves) {
  if (leaves.length === 1) return merkle.leafHash(leaves[0]);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  const digest = async (...parts) => new Uint8Array(await crypto.subtle.digest('SHA-256', Buffer.concat(parts)));
  return digest(Buffer.from([1]), await treeHash(leaves.slice(0, k)), await treeHash(leaves.slice(k)));
}
async function inclusionPath(m, leaves) {
  if (leaves.length === 1) return [];
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return m < k ? [...await inclusionPath(m, leaves.slice(0, k)), await treeHash(leaves.slice(k))]
               : [...await inclusionPath(m - k, leaves.slice(k)), await treeHash(leaves.slice(0, k))];
}

test('entries are checked at their own positions: a repeated, missing or extra entry fails', async () => {
  const leaves = [0, 1, 2, 3, 4].map((i) => Buffer.from(`trenode log entry\nindex ${i}\n`));
  const root = await treeHash(leaves);
  const proofFor = (index) => inclusionPath(index, leaves);
  const entry = (i) => ({ index: String(i), leaf: leaves[i].toString('base64') });
  assert.deepEqual(await merkle.verifyEntries([2, 3, 4].map(entry), 2, 5, root, proofFor), []);
  // A node that sends one valid entry three times, each claiming its own index or not.
  const repeated = await merkle.verifyEntries([entry(2), entry(2), entry(2)], 2, 5, root, proofFor);
  assert.equal(repeated.length, 2, repeated.join('; '));
  assert.match(repeated.join('; '), /^3 .*; 4 /);
  const relabelled = [2, 3, 4].map((i) => ({ ...entry(2), index: String(i) }));
  assert.deepEqual(await merkle.verifyEntries(relabelled, 2, 5, root, proofFor), [3, 4]);
  assert.match((await merkle.verifyEntries([entry(2), entry(3)], 2, 5, root, proofFor)).join(), /1 missing/);
  assert.match((await merkle.verifyEntries([2, 3, 4, 4].map(entry), 2, 5, root, proofFor)).join(), /too many/);
});

test('a WebCrypto without Ed25519 is named as the reason, not an obscure failure', async () => {
  assert.equal(await merkle.hasEd25519(), true);
  const key = await merkle.parseVerifierKey('example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k');
  const note = 'example.com/foo\n1\nAAAA\n\n\u2014 example.com/foo AAAA\n';
  // As Firefox ESR 128 answers: the algorithm is not supported.
  const importKey = crypto.subtle.importKey;
  crypto.subtle.importKey = async () => { throw new DOMException('Unrecognized name.', 'NotSupportedError'); };
  try {
    assert.equal(await merkle.hasEd25519(), false);
    await assert.rejects(merkle.verifyCheckpoint(note, key),
                         /cannot check the log's Ed25519 signatures.*\(NotSupportedError: Unrecognized name\.\)/);
  } finally {
    crypto.subtle.importKey = importKey;
  }
  await assert.rejects(merkle.verifyCheckpoint(note, key), /no signature by the pasted key/);
});
