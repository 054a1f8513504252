#!/usr/bin/python3
"""Analyses survive kill -9 of the node: every analysis submitted before the
crash is there afterwards, exactly once, and ends; a retry of a submission
with the same request id finds the same analysis; no analysis runs twice
(each script appends one line to its only output); the sandbox's processes
die with the node; the activity log still verifies.

usage: analyses_restart_test.py --bin-dir DIR --proto-dir DIR
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node, test_first_uid  # noqa: E402

ARGS = None
PROJECT = "restart-study"
SCRIPTS = 4
QUERIES = 6
STOPPED = "the node stopped while the job ran; it was not run again"
# A query running at the crash (under load one may be) fails the same way.
QUERY_INTERRUPTED = ("interrupted by a node restart while running; analyses never run twice, "
                     "so submit it again with a new request id")


# Job uids of this test's node: a range no other test running at once uses.
FIRST_UID = test_first_uid()


def job_processes():
    """Processes on this machine running as one of this test's job uids."""
    count = 0
    for pid in os.listdir("/proc"):
        if not pid.isdigit():
            continue
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("Uid:"):
                        count += FIRST_UID <= int(line.split()[1]) < FIRST_UID + 64
                        break
        except OSError:
            pass
    return count


class AnalysesRestartTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.node = Node(ARGS.bin_dir, self.tmp.name,
                         extra_config="compute { sandbox { max_jobs: 2 first_uid: %d } "
                         "wall_seconds: 60 }" % FIRST_UID)
        self.steward = self.node.token("data_steward", "sam")
        self.researcher = self.node.token("researcher", "ada")
        site = os.path.join(self.tmp.name, "site")
        subprocess.run([os.path.join(ARGS.bin_dir, "trenode-synth"), "--seed", "3", "--persons",
                        "300", "--out", site], check=True, capture_output=True)
        self.ok("dataset", "import", site, token=self.steward)
        self.ok("project", "create", PROJECT, "--title", "Restart", "--lay-summary", "Crashes.",
                "--datasets", "synth-ehr-3", token=self.researcher)
        self.ok("project", "approve", PROJECT, "--reference", "REC 1", "--expires", "2099-01-01",
                "--datasets", "synth-ehr-3", "--preapproved-query-kinds", "counts",
                token=self.steward)
        self.ok("training", "record", "ada@py-node", "--course", "SRT", "--completed",
                "2026-01-01", "--expires", "2099-01-01", token=self.steward)
        bundle = os.path.join(self.tmp.name, "bundle")
        os.makedirs(bundle)
        with open(os.path.join(bundle, "manifest.textproto"), "w") as f:
            f.write('entry_point: "job.sh" datasets: "synth-ehr-3" outputs: "runs"\n')
        with open(os.path.join(bundle, "job.sh"), "w") as f:
            f.write("echo run >> /job/outbox/runs\nsleep 2\n")
        out = self.ok("analysis", "upload-bundle", bundle, "--project", PROJECT,
                      token=self.researcher)
        self.bundle = [line.split()[1] for line in out.splitlines() if line.startswith("sha256:")][0]
        self.ok("analysis", "approve-bundle", self.bundle, "--project", PROJECT, token=self.steward)

    def tearDown(self):
        if self.node.process and self.node.process.poll() is None:
            self.node.stop()
        self.tmp.cleanup()

    def ok(self, *args, token):
        code, out, err = self.node.trectl(*args, token=token)
        self.assertEqual(code, 0, f"trectl {' '.join(args)}: {err}")
        return out

    def submit(self, request_id):
        """Submits (or retries) one analysis; returns its id."""
        if request_id.startswith("script"):
            what = ["--bundle", self.bundle]
        else:
            what = ["--dataset", "synth-ehr-3", "--count-by", "sex"]
        out = self.ok("--json", "analysis", "submit", "--project", PROJECT, "--request-id",
                      request_id, *what, token=self.researcher)
        return json.loads(out)["id"]

    def analyses(self):
        # Three a page: the listing must follow the pages to see them all.
        out = self.ok("--json", "--role", "output_checker", "analysis", "list", "--page-size",
                      "3", token=self.node.token("output_checker", "olu"))
        return json.loads(out).get("analyses", [])

    def test_kill_9_loses_nothing_and_runs_nothing_twice(self):
        requests = [f"script-{i}" for i in range(SCRIPTS)] + [f"query-{i}" for i in range(QUERIES)]
        ids = {request: self.submit(request) for request in requests}
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # until some script job is running
            if any(a["state"] == "ANALYSIS_STATE_RUNNING" and "script" in a
                   for a in self.analyses()):
                break
            time.sleep(0.05)
        self.node.process.kill()
        self.node.process.wait()
        time.sleep(0.5)
        self.assertEqual(job_processes(), 0, "sandboxed jobs outlived the node")

        self.node.start()
        # Retrying every submission finds the analysis recorded before the crash.
        for request, analysis_id in ids.items():
            self.assertEqual(self.submit(request), analysis_id, request)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            listed = self.analyses()
            if all(a["state"] in ("ANALYSIS_STATE_SUCCEEDED", "ANALYSIS_STATE_FAILED")
                   for a in listed):
                break
            time.sleep(0.2)
        self.assertEqual(sorted(a["id"] for a in listed), sorted(ids.values()))
        stopped = 0
        for a in listed:
            if "script" in a:
                if a["state"] == "ANALYSIS_STATE_FAILED":
                    self.assertEqual(a["state_reason"], STOPPED)
                    stopped += 1
                    continue
                self.assertEqual(a["state"], "ANALYSIS_STATE_SUCCEEDED", a)
                outputs = a["script_outcome"]["outputs"]
                self.assertEqual([(o["name"], int(o["size"])) for o in outputs], [("runs", 4)])
            elif a["state"] == "ANALYSIS_STATE_FAILED":
                self.assertEqual(a["state_reason"], QUERY_INTERRUPTED, a)
            else:
                self.assertEqual(a["state"], "ANALYSIS_STATE_SUCCEEDED", a)
        self.assertGreaterEqual(stopped, 1, "no script job was running at the crash")
        # Every kept output is one line: nothing ran twice.
        objects = os.path.join(self.tmp.name, "objects", "analyses")
        for analysis_id in os.listdir(objects):
            with open(os.path.join(objects, analysis_id, "outputs", "runs")) as f:
                self.assertEqual(f.read(), "run\n")
        code, out, err = self.node.trectl("log", "verify", "--log-key", self.node.log_pub,
                                          token=self.node.token("auditor", "audrey"))
        self.assertEqual(code, 0, err)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
