// Verifies the activity log in the browser (spec/activity-log.md), trusting
// nothing but the verifier key the auditor pastes: the checkpoint's C2SP
// signed note (Ed25519, WebCrypto), and each entry's RFC 9162 inclusion in
// the checkpoint's tree (SHA-256).

const encoder = new TextEncoder();
export function fromBase64(text) { return Uint8Array.from(atob(text || ''), (c) => c.charCodeAt(0)); }
function concat(...parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}
async function sha256(bytes) { return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes)); }
function equal(a, b) { return a.length === b.length && a.every((x, i) => x === b[i]); }

// "<name>+<hex key id>+<base64(0x01 || 32-byte Ed25519 key)>" -> parts;
// throws with what is wrong.
export async function parseVerifierKey(text) {
  // The name has no '+'; the base64 key may.
  const trimmed = text.trim();
  const first = trimmed.indexOf('+');
  const second = trimmed.indexOf('+', first + 1);
  if (first <= 0 || second < 0) throw new Error('a log key is <origin>+<key id>+<key>, as in log.pub');
  const [name, hexId, encoded] = [trimmed.slice(0, first), trimmed.slice(first + 1, second), trimmed.slice(second + 1)];
  const key = fromBase64(encoded);
  if (key.length !== 33 || key[0] !== 0x01) throw new Error('the log key is not an Ed25519 key (type 0x01)');
  const id = (await sha256(concat(encoder.encode(`${name}\n`), key))).slice(0, 4);
  if ([...id].map((b) => b.toString(16).padStart(2, '0')).join('') !== hexId) {
    throw new Error('the log key\'s id does not match its name and key');
  }
  return { name, id, publicKey: key.slice(1) };
}

export const NO_ED25519 = 'this browser cannot check the log\'s Ed25519 signatures: its WebCrypto has no ' +
  'Ed25519 (Chromium 137 and Firefox 129 have it; Firefox ESR 128 does not). Verify in a current browser, ' +
  'or with trectl log verify';

// The browser's Ed25519 verifier for `publicKey` (32 bytes); throws
// NO_ED25519, with what the browser said, where WebCrypto lacks Ed25519.
async function ed25519Verifier(publicKey) {
  try {
    return await globalThis.crypto.subtle.importKey('raw', publicKey, { name: 'Ed25519' }, false, ['verify']);
  } catch (error) {
    throw new Error(`${NO_ED25519} (${error?.name || 'Error'}: ${error?.message || error})`);
  }
}

// Resolves true if this browser's WebCrypto verifies Ed25519 (RFC 8032's
// test 1 key), false if not.
export async function hasEd25519() {
  try {
    await ed25519Verifier(fromHex('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a'));
    return true;
  } catch {
    return false;
  }
}

function fromHex(hex) { return Uint8Array.from(hex.match(/../g), (b) => parseInt(b, 16)); }

// Checks the note's signature by `key`; returns {origin, size, root}.
export async function verifyCheckpoint(note, key) {
  const split = note.indexOf('\n\n');
  if (split < 0) throw new Error('the checkpoint is not a signed note');
  const text = note.slice(0, split + 1);
  const [origin, size, root] = text.split('\n');
  if (origin !== key.name) throw new Error(`the checkpoint is for ${origin}, not ${key.name}`);
  const verifier = await ed25519Verifier(key.publicKey);
  for (const line of note.slice(split + 2).split('\n')) {
    const match = /^\u2014 (\S+) (\S+)$/.exec(line);
    if (!match || match[1] !== key.name) continue;
    const blob = fromBase64(match[2]);
    if (blob.length !== 68 || !equal(blob.slice(0, 4), key.id)) continue;
    if (await crypto.subtle.verify('Ed25519', verifier, blob.slice(4), encoder.encode(text))) {
      return { origin, size: Number(size), root: fromBase64(root) };
    }
    throw new Error('the checkpoint\'s signature does not verify with the pasted key');
  }
  throw new Error('the checkpoint has no signature by the pasted key');
}

export async function leafHash(leaf) { return sha256(concat(new Uint8Array([0]), leaf)); }

// RFC 9162 section 2.1.3.2: the root that `proof` gives for leaf `index`
// of a tree of `size`; null if the proof has the wrong length or a hash is
// not 32 bytes.
export async function rootFromInclusionProof(index, size, hash, proof) {
  if (index >= size || hash.length !== 32 || proof.some((p) => p.length !== 32)) return null;
  let fn = index, sn = size - 1, r = hash;
  for (const p of proof) {
    if (sn === 0) return null;
    if (fn % 2 === 1 || fn === sn) {
      r = await sha256(concat(new Uint8Array([1]), p, r));
      if (fn % 2 === 0) while (fn % 2 === 0 && fn !== 0) { fn = Math.floor(fn / 2); sn = Math.floor(sn / 2); }
    } else {
      r = await sha256(concat(new Uint8Array([1]), r, p));
    }
    fn = Math.floor(fn / 2); sn = Math.floor(sn / 2);
  }
  return sn === 0 ? r : null;
}

export async function included(index, size, leaf, proof, root) {
  const computed = await rootFromInclusionProof(index, size, await leafHash(leaf), proof);
  return computed !== null && equal(computed, root);
}

// Checks that `entries` (GetEntries replies: {index, leaf}) are exactly
// entries start .. size-1 in order, each included in the tree of `size`
// with `root`; `proofFor(index)` fetches an inclusion proof's hashes
// (Uint8Arrays). The position is checked, not taken from the node, so one
// valid entry sent many times, or entries out of place, fail. Returns what
// failed (empty when all holds).
export async function verifyEntries(entries, start, size, root, proofFor) {
  const failed = [];
  for (const [i, entry] of entries.entries()) {
    const index = Number(entry.index || 0);
    if (index !== start + i) { failed.push(`${start + i} (the node sent entry ${index} in its place)`); continue; }
    if (!await included(index, size, fromBase64(entry.leaf), await proofFor(index), root)) failed.push(index);
  }
  if (entries.length !== size - start) {
    failed.push(entries.length < size - start ? `${size - start - entries.length} missing`
                                              : `${entries.length - (size - start)} too many`);
  }
  return failed;
}

// A leaf's fields (the canonical record's key lines), for display.
export function parseLeaf(bytes) {
  const fields = {};
  for (const line of new TextDecoder().decode(bytes).split('\n').slice(1)) {
    const space = line.indexOf(' ');
    if (space > 0) fields[line.slice(0, space)] = line.slice(space + 1);
  }
  return fields;
}
