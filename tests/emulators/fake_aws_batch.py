#!/usr/bin/env python3
"""A local stand-in for AWS Batch's job API, for the tests (no emulator of
AWS Batch exists): it checks every request's SigV4 signature for service
"batch" with sigv4_proxy.py's own verifier (nothing shared with the node),
answers SubmitJob, DescribeJobs, ListJobs and TerminateJob with the shapes
and errors the AWS Batch API reference documents, and runs each submitted
job's container as container.py does: the job runner with the job's
environment.

Unsigned control (JSON) at /__batch: POST {"credentials": {...}} as the S3
proxy takes them, {"throttle": N} (the next N requests get 429
TooManyRequestsException), {"hold": true} (new jobs wait RUNNABLE in the
queue until {"hold": false}), {"drop_answer": N} (the next N SubmitJobs
are done but their answers never sent: the connection is closed); GET
returns counters.
"""
import argparse
import json
import os
import re
import sys
import threading
import time
import urllib.parse
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import container  # noqa: E402
import sigv4_proxy  # noqa: E402

JOBS = {}
LOCK = threading.Lock()
COUNTS = {"requests": 0, "refused": 0, "throttled": 0, "submitted": 0, "terminated": 0}
THROTTLE = [0]
HOLD = [False]
DROP_ANSWER = [0]
ARGS = None
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$")


class Job:
    def __init__(self, name, request):
        self.id = str(uuid.uuid4())
        self.name = name
        self.request = request
        self.created = time.time()
        self.status = "RUNNABLE"
        self.reason = None
        self.exit_code = None
        self.process = None
        self.started = None
        self.stopped = None
        self.timeout = (request.get("timeout") or {}).get("attemptDurationSeconds")
        self.terminating = None  # the reason, once asked to terminate

    def start(self):
        overrides = self.request.get("containerOverrides") or {}
        environment = [(e["name"], e["value"]) for e in overrides.get("environment", [])]
        self.process = container.start(ARGS.runner, environment,
                                       os.path.join(ARGS.log_dir, self.id + ".log"),
                                       delegate_cgroups=ARGS.delegate_cgroups)
        self.started = time.time()
        self.status = "RUNNING"

    def refresh(self):
        if self.status in ("SUCCEEDED", "FAILED"):
            return
        if self.process is None:
            if not HOLD[0]:
                self.start()
            return
        code = self.process.poll()
        if code is None and self.timeout and time.time() - self.started > self.timeout:
            container.stop(self.process)
            self.process.wait()
            self.finish("FAILED", "Job attempt duration exceeded timeout", 137)
        elif code is not None and self.terminating:
            self.finish("FAILED", self.terminating, code if code >= 0 else 128 - code)
        elif code is not None:
            if code == 0:
                self.finish("SUCCEEDED", "Essential container in task exited", 0)
            else:
                self.finish("FAILED", "Essential container in task exited", code)

    def finish(self, status, reason, exit_code):
        self.status = status
        self.reason = reason
        self.exit_code = exit_code
        self.stopped = time.time()

    def detail(self):
        job = {"jobArn": "arn:aws:batch:%s:123456789012:job/%s" % (ARGS.region, self.id),
               "jobName": self.name, "jobId": self.id,
               "jobQueue": self.request["jobQueue"], "status": self.status,
               "jobDefinition": self.request["jobDefinition"],
               "createdAt": int(self.created * 1000), "dependsOn": [], "parameters": {},
               "container": {"environment": (self.request.get("containerOverrides") or {}).get(
                   "environment", [])}}
        if self.reason:
            job["statusReason"] = self.reason
        if self.started:
            job["startedAt"] = int(self.started * 1000)
        if self.stopped:
            job["stoppedAt"] = int(self.stopped * 1000)
            job["container"]["exitCode"] = self.exit_code
            job["attempts"] = [{"container": {"exitCode": self.exit_code},
                                "startedAt": int(self.started * 1000) if self.started else 0,
                                "stoppedAt": int(self.stopped * 1000),
                                "statusReason": self.reason}]
        return job


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def reply(self, status, answer, error_type=None):
        body = json.dumps(answer).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", str(uuid.uuid4()))
        if error_type:
            self.send_header("x-amzn-ErrorType", error_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def client_error(self, message):
        self.reply(400, {"__type": "ClientException", "message": message}, "ClientException")

    def do_GET(self):
        if self.path == "/__batch":
            with LOCK:
                return self.reply(200, dict(COUNTS))
        self.reply(404, {"message": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        target = urllib.parse.urlsplit(self.path)
        if target.path == "/__batch":
            change = json.loads(body or b"{}")
            with sigv4_proxy.LOCK:
                sigv4_proxy.STATE["credentials"].update(change.get("credentials", {}))
            with LOCK:
                THROTTLE[0] += int(change.get("throttle", 0))
                HOLD[0] = bool(change.get("hold", HOLD[0]))
                DROP_ANSWER[0] += int(change.get("drop_answer", 0))
                return self.reply(200, dict(COUNTS))
        with LOCK:
            COUNTS["requests"] += 1
            if THROTTLE[0] > 0:
                THROTTLE[0] -= 1
                COUNTS["throttled"] += 1
                return self.reply(429, {"__type": "TooManyRequestsException",
                                        "message": "Too Many Requests"}, "TooManyRequestsException")
        headers = {k.lower(): v for k, v in self.headers.items()}
        refused = sigv4_proxy.verify("POST", target.path, target.query, headers, body, "batch")
        if refused:
            with LOCK:
                COUNTS["refused"] += 1
            status, code, message = refused
            return self.reply(403, {"message": message}, "UnrecognizedClientException"
                              if code == "InvalidAccessKeyId" else code)
        if not headers.get("content-type", "").startswith("application/json"):
            return self.client_error("Content-Type must be application/json")
        try:
            request = json.loads(body or b"{}")
        except ValueError:
            return self.client_error("the request body is not JSON")
        route = {"/v1/submitjob": self.submit, "/v1/describejobs": self.describe,
                 "/v1/listjobs": self.list, "/v1/terminatejob": self.terminate}.get(target.path)
        if route is None:
            return self.reply(404, {"message": "no such operation " + target.path})
        with LOCK:
            route(request)

    def submit(self, request):
        name = request.get("jobName", "")
        if not NAME.match(name):
            return self.client_error("jobName must be 1-128 letters, numbers, hyphens or underscores")
        if request.get("jobQueue") != ARGS.queue:
            return self.client_error("JobQueue %s not found" % request.get("jobQueue"))
        if request.get("jobDefinition") != ARGS.definition:
            return self.client_error("JobDefinition %s not found" % request.get("jobDefinition"))
        timeout = (request.get("timeout") or {}).get("attemptDurationSeconds")
        if timeout is not None and timeout < 60:
            return self.client_error("attemptDurationSeconds must be at least 60")
        for requirement in (request.get("containerOverrides") or {}).get("resourceRequirements", []):
            if requirement.get("type") not in ("MEMORY", "VCPU", "GPU") or not str(
                    requirement.get("value", "")).isdigit():
                return self.client_error("bad resourceRequirements")
        job = Job(name, request)
        JOBS[job.id] = job
        COUNTS["submitted"] += 1
        job.refresh()
        if DROP_ANSWER[0] > 0:
            DROP_ANSWER[0] -= 1
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.reply(200, {"jobArn": "arn:aws:batch:%s:123456789012:job/%s" % (ARGS.region, job.id),
                         "jobName": name, "jobId": job.id})

    def describe(self, request):
        ids = request.get("jobs")
        if not isinstance(ids, list) or len(ids) > 100:
            return self.client_error("jobs must be a list of at most 100 job ids")
        found = []
        for job_id in ids:
            job = JOBS.get(job_id)
            if job:
                job.refresh()
                found.append(job.detail())
        self.reply(200, {"jobs": found})

    def list(self, request):
        filters = request.get("filters") or []
        if request.get("jobQueue") != ARGS.queue:
            return self.client_error("JobQueue %s not found" % request.get("jobQueue"))
        names = [v for f in filters if f.get("name") == "JOB_NAME" for v in f.get("values", [])]
        summaries = []
        for job in JOBS.values():
            if names and job.name not in names:
                continue
            job.refresh()
            summaries.append({"jobArn": job.detail()["jobArn"], "jobId": job.id,
                              "jobName": job.name, "status": job.status,
                              "createdAt": int(job.created * 1000)})
        self.reply(200, {"jobSummaryList": summaries})

    def terminate(self, request):
        job = JOBS.get(request.get("jobId", ""))
        if not request.get("reason"):
            return self.client_error("reason is required")
        if job is None:
            return self.client_error("Job %s not found" % request.get("jobId"))
        job.refresh()
        if job.status not in ("SUCCEEDED", "FAILED"):
            if job.process and job.process.poll() is None:
                # As ECS stops a task: SIGTERM, and SIGKILL after a grace
                # period; the job is FAILED once its container has exited.
                job.terminating = request["reason"]
                container.terminate(job.process, grace=10)
            else:
                job.finish("FAILED", request["reason"], 137)
            COUNTS["terminated"] += 1
        self.reply(200, {})


def main():
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--region", default="eu-west-2")
    parser.add_argument("--queue", required=True)
    parser.add_argument("--definition", required=True)
    parser.add_argument("--runner", required=True)
    parser.add_argument("--log-dir", required=True)
    parser.add_argument("--delegate-cgroups", action="store_true",
                        help="mount the host's cgroup tree writable in each container")
    ARGS = parser.parse_args()
    sigv4_proxy.ARGS = ARGS
    ThreadingHTTPServer.daemon_threads = True
    ThreadingHTTPServer(("127.0.0.1", ARGS.port), Handler).serve_forever()


if __name__ == "__main__":
    main()
