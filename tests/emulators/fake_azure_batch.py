#!/usr/bin/env python3
"""A fake Azure Batch service for the Azure batch adapter's tests, on loopback,
standard library only. It checks what the real service checks and answers as
the REST API reference (api-version 2024-07-01.20.0) documents:

  - every request's Shared Key signature, computed here independently from
    "Authenticate requests to Azure Batch" (the verb, the standard headers
    with Content-Length as sent and Date empty when ocp-date is given, the
    ocp- headers, then /account/path and the sorted query parameters), and
    ocp-date within 15 minutes; a refusal is 403 AuthenticationFailed;
  - the api-version query parameter;
  - Add Job, Get Job; Add Task, Get Task, Terminate Task, Delete Task, with
    the documented status codes and error documents ({"odata.metadata",
    "code", "message": {"lang", "value"}}).

A task's runner is started as a batch service starts it in a container
(tests/emulators/container.py) with the task's environmentSettings; the
executable given as --runner stands in for the image's runner. The task is
running once started and completed with executionInfo (exitCode, result,
failureInfo) when it exits; Terminate kills it.

Unsigned control endpoint for the tests: POST /_control {"throttle": N}
answers the next N service requests 503 ServerBusy; GET /_control returns
the counters {"requests", "refused", "throttled"}.
"""

import argparse
import base64
import datetime
import email.utils
import hashlib
import hmac
import http.server
import json
import os
import re
import sys
import threading
import urllib.parse
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import container  # noqa: E402

API_VERSION = "2024-07-01.20.0"
SIGNED_STANDARD_HEADERS = ["content-encoding", "content-language", "content-length",
                           "content-md5", "content-type", "date", "if-modified-since",
                           "if-match", "if-none-match", "if-unmodified-since", "range"]
ID = re.compile(r"^[A-Za-z0-9_-]{1,64}$")
DURATION = re.compile(r"^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")
FAILURE_EXIT = ("FailureExitCode", "The task exited with an exit code representing a failure")
ENDED_BY_USER = ("TaskEnded", "Task Was Ended by User Request")


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).isoformat().replace("+00:00", "Z")


class ServiceError(Exception):
    def __init__(self, status, code, message, values=None):
        super().__init__(message)
        self.status, self.code, self.message, self.values = status, code, message, values


class Batch:
    """The account's jobs and tasks; every method holds the lock."""

    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.jobs = {}
        self.tasks = {}  # (job id, task id) -> task dict; "_process" is private
        self.counters = {"requests": 0, "refused": 0, "throttled": 0}
        self.throttle = 0

    def add_job(self, body):
        job_id, pool = body.get("id"), (body.get("poolInfo") or {}).get("poolId")
        if not isinstance(job_id, str) or not ID.match(job_id) or not pool:
            raise ServiceError(400, "InvalidPropertyValue", "The job needs an id and poolInfo.poolId.")
        with self.lock:
            if job_id in self.jobs:
                raise ServiceError(409, "JobExists", "The specified job already exists.")
            self.jobs[job_id] = {"id": job_id, "state": "active", "poolInfo": {"poolId": pool},
                                 "creationTime": now_iso()}

    def get_job(self, job_id):
        with self.lock:
            if job_id not in self.jobs:
                raise ServiceError(404, "JobNotFound", "The specified job does not exist.")
            return dict(self.jobs[job_id])

    def add_task(self, job_id, body):
        task_id = body.get("id")
        if not isinstance(task_id, str) or not ID.match(task_id):
            raise ServiceError(400, "InvalidPropertyValue", "The task id is not valid.")
        if not isinstance(body.get("commandLine"), str) or not body["commandLine"]:
            raise ServiceError(400, "MissingRequiredProperty", "commandLine is required.")
        wall = (body.get("constraints") or {}).get("maxWallClockTime")
        if wall is not None and not DURATION.match(wall):
            raise ServiceError(400, "InvalidPropertyValue",
                               f"maxWallClockTime {wall!r} is not an ISO 8601 duration.")
        environment = [(s["name"], s["value"]) for s in body.get("environmentSettings") or []]
        with self.lock:
            if job_id not in self.jobs:
                raise ServiceError(404, "JobNotFound", "The specified job does not exist.")
            if (job_id, task_id) in self.tasks:
                raise ServiceError(409, "TaskExists", "The specified task already exists.")
            task = dict(body)
            task.update({"url": f"{self.args.base}/jobs/{job_id}/tasks/{task_id}",
                         "eTag": "0x" + uuid.uuid4().hex[:15].upper(),
                         "creationTime": now_iso(), "state": "active",
                         "stateTransitionTime": now_iso(), "requiredSlots": 1})
            self.tasks[(job_id, task_id)] = task
            if body["commandLine"] != container.RUNNER_IN_CONTAINER:
                # The fake can only run the runner; anything else fails to start.
                self.complete(task, 127)
                return
            log = os.path.join(self.args.log_dir, f"{job_id}.{task_id}.log")
            # As Azure Batch does for a Linux container task: unless
            # containerHostBatchBindMounts is given (empty: none), the VM's
            # whole Batch root, shared/ included, is mounted read-write.
            mounts = (body.get("containerSettings") or {}).get("containerHostBatchBindMounts")
            binds = []
            if mounts is None:
                root = os.path.join(self.args.log_dir, "node-root")
                os.makedirs(os.path.join(root, "shared"), exist_ok=True)
                os.chmod(os.path.join(root, "shared"), 0o777)
                binds = [(root, "/mnt/batch/tasks")]
                environment.append(("AZ_BATCH_NODE_ROOT_DIR", "/mnt/batch/tasks"))
            elif mounts:
                raise ServiceError(400, "InvalidPropertyValue",
                                   "the fake mounts no Batch directories into containers")
            process = container.start(self.args.runner, environment, log, binds)
            task["_process"] = process
            task.update({"state": "running", "previousState": "active",
                         "stateTransitionTime": now_iso(),
                         "executionInfo": {"startTime": now_iso(), "retryCount": 0,
                                           "requeueCount": 0}})
        threading.Thread(target=self.wait, args=(task, process), daemon=True).start()

    def wait(self, task, process):
        status = process.wait()
        with self.lock:
            if task.get("_process") is process and task["state"] == "running":
                if task.get("_terminating"):
                    self.complete(task, None, ENDED_BY_USER)
                else:
                    self.complete(task, status if status >= 0 else 128 - status)

    def complete(self, task, exit_code=None, failure=None):
        """Moves `task` to completed (lock held)."""
        info = task.setdefault("executionInfo", {"startTime": now_iso(), "retryCount": 0,
                                                 "requeueCount": 0})
        info["endTime"] = now_iso()
        if exit_code is not None:
            info["exitCode"] = exit_code
        if failure is None and exit_code != 0:
            failure = FAILURE_EXIT
        info["result"] = "failure" if failure else "success"
        if failure:
            info["failureInfo"] = {"category": "usererror", "code": failure[0],
                                   "message": failure[1]}
        task.update({"previousState": task["state"], "state": "completed",
                     "stateTransitionTime": now_iso()})
        task.pop("_process", None)

    def task(self, job_id, task_id):
        if (job_id, task_id) not in self.tasks:
            if job_id not in self.jobs:
                raise ServiceError(404, "JobNotFound", "The specified job does not exist.")
            raise ServiceError(404, "TaskNotFound", "The specified task does not exist.")
        return self.tasks[(job_id, task_id)]

    def get_task(self, job_id, task_id):
        with self.lock:
            return {k: v for k, v in self.task(job_id, task_id).items() if not k.startswith("_")}

    def terminate_task(self, job_id, task_id):
        with self.lock:
            task = self.task(job_id, task_id)
            if task["state"] == "completed":
                raise ServiceError(409, "TaskCompleted", "The specified task is already completed.")
            process = task.get("_process")
            if process is None or process.poll() is not None:
                self.complete(task, None, ENDED_BY_USER)
                return
            # Signalled as the AWS fake does (SIGTERM, SIGKILL after a grace
            # period); the task completes when its container has exited.
            task["_terminating"] = True
        container.terminate(process, grace=10)

    def delete_task(self, job_id, task_id):
        with self.lock:
            task = self.task(job_id, task_id)
            process = task.pop("_process", None)
            del self.tasks[(job_id, task_id)]
        if process is not None:
            container.stop(process)


def string_to_sign(method, headers, account, path, query):
    """The Batch Shared Key string to sign, from the request as received."""
    lower = {name.lower(): value for name, value in headers.items()}
    values = []
    for name in SIGNED_STANDARD_HEADERS:
        if name == "date" and "ocp-date" in lower:
            values.append("")
        else:
            values.append(lower.get(name, ""))
    ocp = sorted((name, value.strip()) for name, value in lower.items() if name.startswith("ocp-"))
    text = method.upper() + "\n" + "\n".join(values) + "\n"
    text += "".join(f"{name}:{value}\n" for name, value in ocp)
    text += f"/{account}{path}"  # the path as sent, still encoded
    parameters = {}
    for name, value in urllib.parse.parse_qsl(query, keep_blank_values=True):
        parameters.setdefault(name.lower(), []).append(value)
    for name in sorted(parameters):
        text += f"\n{name}:{','.join(sorted(parameters[name]))}"
    return text


def make_handler(batch, args):
    key = base64.b64decode(args.key)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *fmt_args):
            print("fake_azure_batch: " + fmt % fmt_args, flush=True)

        def answer(self, status, document=None, headers=(), request_id=None):
            body = b"" if document is None else json.dumps(document).encode()
            self.send_response(status)
            self.send_header("request-id", request_id or str(uuid.uuid4()))
            if document is not None:
                self.send_header("Content-Type", "application/json;odata=minimalmetadata")
            for name, value in headers:
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def error(self, failure):
            request_id = str(uuid.uuid4())
            document = {
                "odata.metadata": f"{args.base}/$metadata#Microsoft.Azure.Batch.Protocol."
                                  "Entities.Container.errors/@Element",
                "code": failure.code,
                "message": {"lang": "en-US", "value": f"{failure.message}\nRequestId:"
                                                      f"{request_id}\nTime:{now_iso()}"}}
            if failure.values:
                document["values"] = failure.values
            self.answer(failure.status, document, request_id=request_id)

        def authenticate(self, parsed):
            given = self.headers.get("Authorization", "")
            expected_prefix = f"SharedKey {args.account}:"
            text = string_to_sign(self.command, self.headers, args.account, parsed.path,
                                  parsed.query)
            signature = base64.b64encode(hmac.new(key, text.encode(), hashlib.sha256).digest())
            fresh = False
            stamp = self.headers.get("ocp-date") or self.headers.get("Date")
            if stamp:
                try:
                    when = email.utils.parsedate_to_datetime(stamp)
                    skew = abs((datetime.datetime.now(datetime.timezone.utc) - when).total_seconds())
                    fresh = skew <= 15 * 60
                except (TypeError, ValueError):
                    fresh = False
            if given.startswith(expected_prefix) and fresh and hmac.compare_digest(
                    given[len(expected_prefix):].encode(), signature):
                return
            raise ServiceError(
                403, "AuthenticationFailed",
                "Server failed to authenticate the request. Make sure the value of Authorization "
                "header is formed correctly including the signature.",
                [{"key": "AuthenticationErrorDetail",
                  "value": f"The MAC signature found in the HTTP request is not the same as any "
                           f"computed signature. Server used following string to sign: "
                           f"'{text}'." if fresh else "The request time is missing or skewed."}])

        def control(self, body):
            with batch.lock:
                if self.command == "POST":
                    batch.throttle = int(json.loads(body or b"{}").get("throttle", 0))
                self.answer(200, dict(batch.counters))

        def handle_any(self):
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parsed = urllib.parse.urlsplit(self.path)
            if parsed.path == "/_control":
                return self.control(body)
            try:
                with batch.lock:
                    batch.counters["requests"] += 1
                    throttled = batch.throttle > 0
                    if throttled:
                        batch.throttle -= 1
                        batch.counters["throttled"] += 1
                if throttled:
                    raise ServiceError(503, "ServerBusy",
                                       "The server is busy; retry the request (injected).")
                try:
                    self.authenticate(parsed)
                except ServiceError:
                    with batch.lock:
                        batch.counters["refused"] += 1
                    raise
                versions = urllib.parse.parse_qs(parsed.query).get("api-version")
                if not versions:
                    raise ServiceError(400, "MissingRequiredQueryParameter",
                                       "A query parameter that's mandatory for this request is "
                                       "not specified: api-version.")
                if versions != [API_VERSION]:
                    raise ServiceError(400, "InvalidQueryParameterValue",
                                       f"api-version {versions[0]} is not supported by this fake.")
                self.route(parsed.path, body)
            except ServiceError as failure:
                self.error(failure)

        def json_body(self, body):
            content_type = self.headers.get("Content-Type", "")
            if not content_type.startswith("application/json"):
                raise ServiceError(400, "InvalidHeaderValue",
                                   f"Content-Type {content_type!r} is not application/json.")
            try:
                return json.loads(body)
            except ValueError:
                raise ServiceError(400, "InvalidRequestBody", "The request body is not JSON.")

        def route(self, path, body):
            parts = [urllib.parse.unquote(p) for p in path.strip("/").split("/")]
            method = self.command
            if parts == ["jobs"] and method == "POST":
                batch.add_job(self.json_body(body))
                return self.answer(201, None, [("Location", f"{args.base}/jobs/x")])
            if len(parts) == 2 and parts[0] == "jobs" and method == "GET":
                job = batch.get_job(parts[1])
                job["odata.metadata"] = f"{args.base}/$metadata#jobs/@Element"
                return self.answer(200, job)
            if len(parts) == 3 and parts[0] == "jobs" and parts[2] == "tasks" and method == "POST":
                batch.add_task(parts[1], self.json_body(body))
                return self.answer(201, None, [("DataServiceId", f"{args.base}/jobs/{parts[1]}")])
            if len(parts) == 4 and parts[0] == "jobs" and parts[2] == "tasks":
                if method == "GET":
                    task = batch.get_task(parts[1], parts[3])
                    task["odata.metadata"] = f"{args.base}/$metadata#tasks/@Element"
                    return self.answer(200, task)
                if method == "DELETE":
                    batch.delete_task(parts[1], parts[3])
                    return self.answer(200)
            if len(parts) == 5 and parts[2] == "tasks" and parts[4] == "terminate" and \
                    method == "POST":
                batch.terminate_task(parts[1], parts[3])
                return self.answer(204)
            raise ServiceError(400, "InvalidUri", f"The requested URI does not represent any "
                                                  f"resource on the server: {method} {path}.")

        do_GET = do_POST = do_PUT = do_DELETE = handle_any

    return Handler


def main():
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, default=0, help="0: any free port, printed")
    parser.add_argument("--account", required=True)
    parser.add_argument("--key", required=True, help="the account key, base64")
    parser.add_argument("--runner", required=True,
                        help="the executable that stands in for the image's job runner")
    parser.add_argument("--log-dir", required=True, help="where each task's output goes")
    args = parser.parse_args()
    server = http.server.ThreadingHTTPServer(("127.0.0.1", args.port), None)
    args.base = f"http://127.0.0.1:{server.server_address[1]}"
    server.RequestHandlerClass = make_handler(Batch(args), args)
    server.daemon_threads = True
    print(f"fake_azure_batch: listening on {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
