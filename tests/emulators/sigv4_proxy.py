#!/usr/bin/env python3
"""A SigV4-checking proxy for tests: s3rver checks no signatures, so the S3
tests talk to this proxy, which verifies every request's AWS Signature
Version 4 on its own (Python's hashlib and hmac, no code shared with the node)
and forwards only those that pass to s3rver.

It refuses, as S3 does: an unknown access key (403 InvalidAccessKeyId), an
expired or missing session token (403 ExpiredToken / InvalidToken), a date
more than 15 minutes off (403 RequestTimeTooSkewed), a payload whose SHA-256
is not the signed x-amz-content-sha256 (400 XAmzContentSHA256Mismatch), and a
wrong signature (403 SignatureDoesNotMatch). Presigned (query-string) URLs are
checked too, expiry included; the AWS Batch fake (fake_aws_batch.py) checks
its requests with the same code for service "batch".

Tests steer faults through POST /__proxy (JSON, unsigned):
  {"credentials": {"AKID": {"secret": s, "token": t, "expires": epoch}}}
  {"throttle": N}       the next N requests get 503 SlowDown
  {"drop_uploads": N}   the next N requests with a body are cut off unanswered
  {"cut_downloads": N}  the next N object GETs send half their body, then close
  {"credential_lifetime": seconds}   see below
  {"ignore_if_match": true}  GETs ignore If-Match (as a store that does not
                        honour it would; s3rver itself ignores it)
  {"repeat_token": N}   the next N listing pages that have a continuation
                        token answer with the token they were asked with
It counts what it saw: GET /__proxy answers {"requests": n, "refused": n,
"aborted_uploads": n, ...}.

It is also the credential endpoints a node on AWS asks, each fetch minting a
fresh key pair valid here for credential_lifetime seconds (default 3600) and
reported to the client as expiring five minutes later than that (so that a
client refreshing five minutes early fetches again once it has lapsed here):
  GET /__container_credentials   (the ECS container endpoint; needs the
                                  Authorization header "container-token")
  PUT /latest/api/token, then GET /latest/meta-data/iam/security-credentials/
  and .../trenode-role, with X-aws-ec2-metadata-token (IMDSv2 only: 401
  without the token)
"""
import argparse
import datetime
import hashlib
import hmac
import http.client
import json
import threading
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

STATE = {"credentials": {}, "throttle": 0, "drop_uploads": 0, "cut_downloads": 0, "cut": 0, "ignore_if_match": False, "repeat_token": 0,
         "ranged": 0, "credential_lifetime": 3600,
         "minted": 0, "imds_tokens": [],
         "presigned": 0, "copies": 0, "requests": 0, "refused": 0, "throttled": 0, "dropped": 0, "aborted_uploads": 0,
         "signed_headers": []}
LOCK = threading.Lock()
ARGS = None


def error_xml(code, message):
    return ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>%s</Code>"
            "<Message>%s</Message></Error>" % (code, message)).encode()


def uri_encode(text, keep_slash):
    return urllib.parse.quote(text, safe="-_.~" + ("/" if keep_slash else ""))


def canonical_query(query):
    pairs = urllib.parse.parse_qsl(query, keep_blank_values=True)
    encoded = sorted((uri_encode(k, False), uri_encode(v, False)) for k, v in pairs)
    return "&".join("%s=%s" % kv for kv in encoded)


def hmac_sha256(key, text):
    return hmac.new(key, text.encode(), hashlib.sha256).digest()


def signature(secret, method, path, query, headers, signed, payload, amz_date, scope):
    """The hex SigV4 signature of a request, computed here from its parts."""
    canonical_headers = ""
    for name in signed:
        value = " ".join(headers.get(name, "").split())
        canonical_headers += "%s:%s\n" % (name, value)
    if scope.split("/")[2] == "s3":
        canonical_path = uri_encode(urllib.parse.unquote(path), True)
    else:
        # Every other service signs the path encoded twice.
        canonical_path = uri_encode(uri_encode(urllib.parse.unquote(path), True), True)
    canonical = "\n".join([method, canonical_path, canonical_query(query), canonical_headers,
                           ";".join(signed), payload])
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    key = ("AWS4" + secret).encode()
    for part in scope.split("/"):
        key = hmac_sha256(key, part)
    return hmac.new(key, to_sign.encode(), hashlib.sha256).hexdigest()


def known_credential(key_id, token):
    """None if the key and its session token are good, else the refusal."""
    with LOCK:
        known = STATE["credentials"].get(key_id)
    if known is None:
        return None, (403, "InvalidAccessKeyId",
                      "The AWS Access Key Id you provided does not exist in our records.")
    if known.get("expires") and known["expires"] < datetime.datetime.now(datetime.timezone.utc).timestamp():
        return None, (403, "ExpiredToken", "The provided token has expired.")
    if known.get("token") and token != known["token"]:
        return None, (403, "InvalidToken", "The provided token is malformed or otherwise invalid.")
    return known, None


def verify_presigned(method, path, query, headers):
    """Checks a query-string (presigned URL) signature, as S3 does."""
    params = dict(urllib.parse.parse_qsl(query, keep_blank_values=True))
    if params.get("X-Amz-Algorithm") != "AWS4-HMAC-SHA256":
        return 403, "AccessDenied", "unknown X-Amz-Algorithm"
    try:
        key_id, date, region, service, terminator = params["X-Amz-Credential"].split("/")
        amz_date = params["X-Amz-Date"]
        expires = int(params["X-Amz-Expires"])
        signed = params["X-Amz-SignedHeaders"].split(";")
        given = params["X-Amz-Signature"]
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except (KeyError, ValueError):
        return 403, "AuthorizationQueryParametersError", "the presigned URL is malformed"
    known, refused = known_credential(key_id, params.get("X-Amz-Security-Token"))
    if refused:
        return refused
    if region != ARGS.region or service != "s3" or terminator != "aws4_request" or amz_date[:8] != date:
        return 403, "AuthorizationQueryParametersError", "wrong credential scope"
    if not 1 <= expires <= 604800:
        return 403, "AuthorizationQueryParametersError", "X-Amz-Expires must be 1 to 604800"
    if datetime.datetime.now(datetime.timezone.utc) > when + datetime.timedelta(seconds=expires):
        return 403, "AccessDenied", "Request has expired"
    unsigned = "&".join(part for part in query.split("&") if not part.startswith("X-Amz-Signature="))
    expected = signature(known["secret"], method, path, unsigned, headers, signed,
                         "UNSIGNED-PAYLOAD", amz_date, "/".join([date, region, service, terminator]))
    if not hmac.compare_digest(expected, given):
        return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
    with LOCK:
        STATE["presigned"] += 1
    return None


def verify(method, path, query, headers, body, service="s3"):
    """None if the request is signed correctly, else (status, code, message)."""
    if "X-Amz-Signature=" in query and service == "s3":
        return verify_presigned(method, path, query, headers)
    auth = headers.get("authorization", "")
    if not auth.startswith("AWS4-HMAC-SHA256 "):
        return 403, "AccessDenied", "no AWS4-HMAC-SHA256 Authorization header"
    fields = {}
    for part in auth[len("AWS4-HMAC-SHA256 "):].split(","):
        name, _, value = part.strip().partition("=")
        fields[name] = value
    try:
        key_id, date, region, scope_service, terminator = fields["Credential"].split("/")
        signed = fields["SignedHeaders"].split(";")
        given = fields["Signature"]
    except (KeyError, ValueError):
        return 403, "AuthorizationHeaderMalformed", "the Authorization header is malformed"
    known, refused = known_credential(key_id, headers.get("x-amz-security-token"))
    if refused:
        return refused
    if (region != ARGS.region or scope_service != service or terminator != "aws4_request"):
        return 403, "AuthorizationHeaderMalformed", "wrong credential scope " + fields["Credential"]
    required = ("host", "x-amz-date", "x-amz-content-sha256") if service == "s3" else ("host", "x-amz-date")
    for name in required:
        if name not in signed:
            return 403, "AccessDenied", name + " is not signed"
    if "x-amz-security-token" in headers and "x-amz-security-token" not in signed:
        return 403, "AccessDenied", "x-amz-security-token is not signed"
    amz_date = headers.get("x-amz-date", "")
    try:
        when = datetime.datetime.strptime(amz_date, "%Y%m%dT%H%M%SZ").replace(
            tzinfo=datetime.timezone.utc)
    except ValueError:
        return 403, "AccessDenied", "bad x-amz-date"
    now = datetime.datetime.now(datetime.timezone.utc)
    if abs((now - when).total_seconds()) > 900 or amz_date[:8] != date:
        return 403, "RequestTimeTooSkewed", "The difference between the request time and the current time is too large."
    payload = hashlib.sha256(body).hexdigest()
    if service == "s3":
        if headers.get("x-amz-content-sha256", "") != payload:
            return 400, "XAmzContentSHA256Mismatch", "The provided 'x-amz-content-sha256' header does not match what was computed."
    expected = signature(known["secret"], method, path, query, headers, signed, payload, amz_date,
                         "/".join([date, region, scope_service, terminator]))
    if not hmac.compare_digest(expected, given):
        return 403, "SignatureDoesNotMatch", "The request signature we calculated does not match the signature you provided."
    with LOCK:
        STATE["signed_headers"] = signed
    return None


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, body, headers=()):
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def control(self, body):
        with LOCK:
            if self.command == "POST":
                change = json.loads(body or b"{}")
                for name in ("throttle", "drop_uploads", "cut_downloads", "credential_lifetime",
                             "repeat_token"):
                    if name in change:
                        STATE[name] = int(change[name])
                if "ignore_if_match" in change:
                    STATE["ignore_if_match"] = bool(change["ignore_if_match"])
                if "credentials" in change:
                    STATE["credentials"].update(change["credentials"])
            answer = {k: v for k, v in STATE.items() if k not in ("credentials", "imds_tokens")}
        self.reply(200, json.dumps(answer).encode(), [("Content-Type", "application/json")])

    def mint(self):
        now = datetime.datetime.now(datetime.timezone.utc)
        with LOCK:
            STATE["minted"] += 1
            n = STATE["minted"]
            lifetime = STATE["credential_lifetime"]
            key = "ASIATEMPORARY%06d" % n
            STATE["credentials"][key] = {"secret": "temporary-secret-%d" % n,
                                         "token": "temporary-token-%d" % n,
                                         "expires": now.timestamp() + lifetime}
        expiration = now + datetime.timedelta(seconds=lifetime + 300)
        body = json.dumps({"AccessKeyId": key, "SecretAccessKey": "temporary-secret-%d" % n,
                           "Token": "temporary-token-%d" % n,
                           "Expiration": expiration.strftime("%Y-%m-%dT%H:%M:%SZ")})
        self.reply(200, body.encode(), [("Content-Type", "application/json")])

    def metadata(self, path):
        if self.command == "PUT" and path == "/latest/api/token":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self.reply(400, b"missing ttl")
            token = "imds-token-%d" % len(STATE["imds_tokens"])
            with LOCK:
                STATE["imds_tokens"].append(token)
            return self.reply(200, token.encode())
        with LOCK:
            tokens = list(STATE["imds_tokens"])
        if self.headers.get("X-aws-ec2-metadata-token") not in tokens:
            return self.reply(401, b"IMDSv2 needs a session token")
        base = "/latest/meta-data/iam/security-credentials/"
        if path == base:
            return self.reply(200, b"trenode-role")
        if path == base + "trenode-role":
            return self.mint()
        return self.reply(404, b"not found")

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = urllib.parse.urlsplit(self.path)
        if target.path == "/__proxy":
            return self.control(body)
        if target.path == "/__container_credentials":
            if self.headers.get("Authorization") != "container-token":
                return self.reply(403, b"wrong container authorization token")
            return self.mint()
        if target.path.startswith("/latest/"):
            return self.metadata(target.path)
        with LOCK:
            STATE["requests"] += 1
            if body and STATE["drop_uploads"] > 0:
                STATE["drop_uploads"] -= 1
                STATE["dropped"] += 1
                drop = True
            else:
                drop = False
            throttle = STATE["throttle"] > 0
            if throttle:
                STATE["throttle"] -= 1
                STATE["throttled"] += 1
        if drop:
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if throttle:
            return self.reply(503, error_xml("SlowDown", "Please reduce your request rate."),
                              [("Content-Type", "application/xml")])
        headers = {k.lower(): v for k, v in self.headers.items()}
        refused = verify(self.command, target.path, target.query, headers, body)
        if refused:
            with LOCK:
                STATE["refused"] += 1
            status, code, message = refused
            return self.reply(status, error_xml(code, message), [("Content-Type", "application/xml")])
        if "x-amz-copy-source" in headers:
            with LOCK:
                STATE["copies"] += 1
        if self.command == "GET" and self.headers.get("If-Match") and not STATE["ignore_if_match"]:
            # s3rver ignores If-Match on GET; S3 answers 412 when the ETag
            # differs, and so does the proxy for it.
            probe = http.client.HTTPConnection("127.0.0.1", ARGS.upstream_port, timeout=60)
            probe.request("HEAD", self.path, headers={"Host": self.headers.get("Host", "")})
            current = probe.getresponse()
            current.read()
            probe.close()
            if current.status == 200 and current.getheader("ETag") != self.headers.get("If-Match"):
                return self.reply(412, error_xml("PreconditionFailed",
                                                 "At least one of the pre-conditions you specified did not hold"),
                                  [("Content-Type", "application/xml")])
        if self.command == "GET" and self.headers.get("Range"):
            with LOCK:
                STATE["ranged"] += 1
        upstream = http.client.HTTPConnection("127.0.0.1", ARGS.upstream_port, timeout=60)
        if self.command == "DELETE" and "uploadId=" in target.query:
            # s3rver has no AbortMultipartUpload (it answers 405): the proxy
            # answers for it, as S3 does, and counts it.
            with LOCK:
                STATE["aborted_uploads"] += 1
            return self.reply(204, b"")
        # Checked here; s3rver gets the request unsigned (it knows only its own key).
        forward = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("connection", "keep-alive", "transfer-encoding",
                                        "authorization", "x-amz-security-token")}
        forward_path = self.path
        if "X-Amz-Signature=" in target.query:
            kept = [p for p in target.query.split("&") if not p.startswith("X-Amz-")]
            forward_path = target.path + ("?" + "&".join(kept) if kept else "")
        upstream.request(self.command, forward_path, body=body, headers=forward)
        response = upstream.getresponse()
        data = response.read()
        upstream.close()

        passed = [(k, v) for k, v in response.getheaders()
                  if k.lower() not in ("connection", "keep-alive", "transfer-encoding", "content-length")]
        if self.command == "HEAD":
            passed.append(("Content-Length", response.getheader("Content-Length", "0")))
            self.send_response(response.status)
            for name, value in passed:
                self.send_header(name, value)
            self.end_headers()
            return
        cut = False
        if self.command == "GET" and response.status == 200 and len(data) > 1024:
            with LOCK:
                if STATE["cut_downloads"] > 0:
                    STATE["cut_downloads"] -= 1
                    STATE["cut"] += 1
                    cut = True
        if cut:
            self.send_response(response.status)
            for name, value in passed:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data[:len(data) // 2])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        if (self.command == "GET" and "list-type=2" in target.query and
                "continuation-token=" in target.query and b"<NextContinuationToken>" in data):
            with LOCK:
                repeat = STATE["repeat_token"] > 0
                if repeat:
                    STATE["repeat_token"] -= 1
            if repeat:
                asked = urllib.parse.parse_qs(target.query)["continuation-token"][0]
                start = data.index(b"<NextContinuationToken>") + len(b"<NextContinuationToken>")
                end = data.index(b"</NextContinuationToken>")
                data = data[:start] + asked.encode() + data[end:]
                passed = [(k, v) for k, v in passed if k.lower() != "etag"]
        self.reply(response.status, data, passed)

    do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream-port", type=int, required=True)
    parser.add_argument("--region", default="us-east-1")
    ARGS = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
