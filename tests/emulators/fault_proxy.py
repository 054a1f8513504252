#!/usr/bin/env python3
"""An HTTP proxy for the cloud adapters' fault tests: it relays requests to
an emulator on loopback and injects the faults a real service or network
shows: throttling answers, a connection dropped mid-upload, a response body
cut short. Standard library only."""

import argparse
import http.client
import http.server
import os
import threading

HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade",
              "proxy-authorization", "proxy-authenticate"}


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="host:port of the emulator")
    parser.add_argument("--fail-first", type=int, default=0,
                        help="answer the first N requests with --fail-status instead of relaying")
    parser.add_argument("--fail-status", type=int, default=503)
    parser.add_argument("--fail-code", default="ServerBusy",
                        help="the service error code of an injected failure")
    parser.add_argument("--die-after-body-bytes", type=int, default=-1,
                        help="exit at once (dropping every connection) once this many request "
                             "body bytes have been relayed")
    parser.add_argument("--cut-responses-after-bytes", type=int, default=-1,
                        help="send only this many bytes of a longer response body, then close")
    parser.add_argument("--cut-count", type=int, default=1,
                        help="how many responses --cut-responses-after-bytes cuts")
    args = parser.parse_args()
    host, port = args.upstream.rsplit(":", 1)
    lock = threading.Lock()
    state = {"requests": 0, "body_bytes": 0, "cuts": 0}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *fmt_args):
            print("fault_proxy: " + fmt % fmt_args, flush=True)

        def read_body(self):
            remaining = int(self.headers.get("Content-Length") or 0)
            chunks = []
            while remaining > 0:
                chunk = self.rfile.read(min(remaining, 64 * 1024))
                if not chunk:
                    break
                remaining -= len(chunk)
                chunks.append(chunk)
                with lock:
                    state["body_bytes"] += len(chunk)
                    dying = 0 <= args.die_after_body_bytes <= state["body_bytes"]
                if dying:
                    print("fault_proxy: dropping every connection mid-upload", flush=True)
                    os._exit(0)
            return b"".join(chunks)

        def handle_any(self):
            body = self.read_body()
            with lock:
                state["requests"] += 1
                failing = state["requests"] <= args.fail_first
            if failing:
                error = (f'<?xml version="1.0" encoding="utf-8"?><Error><Code>{args.fail_code}'
                         f'</Code><Message>injected by fault_proxy</Message></Error>').encode()
                self.send_response(args.fail_status)
                self.send_header("x-ms-error-code", args.fail_code)
                self.send_header("Content-Type", "application/xml")
                self.send_header("Content-Length", str(len(error)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(error)
                return
            upstream = http.client.HTTPConnection(host, int(port), timeout=60)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            payload = response.read()
            upstream.close()
            self.send_response(response.status, response.reason)
            for name, value in response.getheaders():
                if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                    self.send_header(name, value)
            length = response.getheader("Content-Length")
            self.send_header("Content-Length", length if self.command == "HEAD" and length
                             else str(len(payload)))
            self.end_headers()
            if self.command == "HEAD":
                return
            with lock:
                cutting = (0 <= args.cut_responses_after_bytes < len(payload)
                           and state["cuts"] < args.cut_count)
                if cutting:
                    state["cuts"] += 1
            if cutting:
                self.wfile.write(payload[:args.cut_responses_after_bytes])
                self.wfile.flush()
                self.close_connection = True
                print("fault_proxy: cut a response short", flush=True)
                return
            self.wfile.write(payload)

        do_GET = do_PUT = do_POST = do_DELETE = do_HEAD = handle_any

    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    server.daemon_threads = True
    server.serve_forever()


if __name__ == "__main__":
    main()
