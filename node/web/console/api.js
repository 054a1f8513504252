// A client of the node's JSON API (spec/json-api.md): every call carries
// the bearer token from memory and the chosen role; nothing else is sent,
// no cookie is involved. Failures throw ApiError with the node's code and
// message, so a page never mistakes a refusal for data.
import { current } from './auth.js';

export class ApiError extends Error {
  constructor(code, message) { super(message); this.code = code; }
}

function headers(contentType) {
  const session = current();
  if (!session) throw new ApiError('unauthenticated', 'sign in first');
  const h = { 'Content-Type': contentType, 'Connect-Protocol-Version': '1',
              Authorization: `Bearer ${session.accessToken}` };
  if (session.role) h['X-Trenode-Role'] = session.role;
  return h;
}

// A unary call: `method` is "Service/Method" of trenode.v1.
export async function call(method, request = {}) {
  const reply = await fetch(`/trenode.v1.${method}`, {
    method: 'POST', headers: headers('application/json'), body: JSON.stringify(request),
  });
  const text = await reply.text();
  const body = parseObject(text);
  if (!reply.ok) throw new ApiError(body?.code || 'unknown', body?.message || `HTTP ${reply.status}`);
  // A 200 that is not a JSON object (a proxy's or captive portal's page, a
  // cut answer) is no answer: it must never read as an empty result.
  if (!body) throw notJson(reply, text);
  return body;
}

// `text` as a JSON object, or null if it is not one.
export function parseObject(text) {
  try {
    const value = JSON.parse(text);
    return value !== null && typeof value === 'object' && !Array.isArray(value) ? value : null;
  } catch {
    return null;
  }
}

function notJson(reply, text) {
  const type = reply.headers.get('Content-Type') || 'no content type';
  return new ApiError('invalid_answer', `the node's answer is not a JSON object (HTTP ${reply.status}, ${type}, ` +
                      `${text.length} bytes): nothing from it is shown`);
}

// A server stream: calls onMessage(message) for each reply as it arrives;
// resolves when the stream ends well, throws ApiError otherwise. `signal`
// (an AbortSignal) ends it early.
export async function stream(method, request, onMessage, signal) {
  const json = new TextEncoder().encode(JSON.stringify(request));
  const body = new Uint8Array(5 + json.length);
  new DataView(body.buffer).setUint32(1, json.length);
  body.set(json, 5);
  const reply = await fetch(`/trenode.v1.${method}`, {
    method: 'POST', headers: headers('application/connect+json'), body, signal,
  });
  if (!reply.ok) {
    const text = await reply.text();
    const error = parseObject(text);
    throw new ApiError(error?.code || 'unknown', error?.message || `HTTP ${reply.status}`);
  }
  if (!/^application\/connect\+json\b/.test(reply.headers.get('Content-Type') || '')) {
    throw notJson(reply, await reply.text());
  }
  const reader = reply.body.getReader();
  let buffer = new Uint8Array(0);
  for (;;) {
    const { value, done } = await reader.read();
    if (done) throw new ApiError('unavailable', 'the stream ended without its end message');
    const joined = new Uint8Array(buffer.length + value.length);
    joined.set(buffer);
    joined.set(value, buffer.length);
    buffer = joined;
    while (buffer.length >= 5) {
      const length = new DataView(buffer.buffer, buffer.byteOffset).getUint32(1);
      if (buffer.length < 5 + length) break;
      const flags = buffer[0];
      const message = parseObject(new TextDecoder().decode(buffer.subarray(5, 5 + length)));
      if (!message) throw new ApiError('invalid_answer', 'a message of the node\'s stream is not a JSON object: the stream is refused');
      buffer = buffer.slice(5 + length);
      if (flags & 2) {
        if (message.error) throw new ApiError(message.error.code, message.error.message);
        return;
      }
      onMessage(message);
    }
  }
}

export function base64ToBytes(text) {
  return Uint8Array.from(atob(text || ''), (c) => c.charCodeAt(0));
}

// A release's file, whole (DownloadFile); throws on any refusal.
export async function downloadFile(releaseId, file) {
  const parts = [];
  await stream('Releases/DownloadFile', { releaseId, file }, (m) => parts.push(base64ToBytes(m.data)));
  return new Blob(parts);
}
