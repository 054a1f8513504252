#!/usr/bin/python3
"""A change and its activity-log record are one unit, even across kill -9.

Round after round, clients create projects, submit analyses, and create and
withdraw releases while the node is killed with SIGKILL at a random moment
and started again on the same database. After every restart:

- the projects, analyses and releases at the node are exactly those the log
  says were created (nothing done unrecorded, nothing recorded undone);
- every acknowledged call's object is there;
- the log verifies, and is consistent with the last checkpoint the node
  signed before the kill (the copy it keeps outside its database).

Kills that land between a change's commit and its record's append are
counted from the node's own start entries ("appended the records of N
changes made before the last stop"); the test runs until it has seen enough
of them, and fails if it saw none.

usage: change_records_test.py --bin-dir DIR --proto-dir DIR
"""
import argparse
import importlib
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node  # noqa: E402

ARGS = None
PROJECT = "crash-study"
DATASET = "synth-ehr-5"
MIN_ROUNDS = 6
# Kills land in the window between a change and its record by chance: on a
# loaded machine 16 rounds have caught none, so the test may try longer
# (it stops as soon as it has WANTED_RECOVERIES after MIN_ROUNDS).
MAX_ROUNDS = 40
WANTED_RECOVERIES = 4
QUERY = f'dataset_id: "{DATASET}" outputs {{ name: "by_sex" counts {{ group_by {{ ' \
        f'variable {{ column: "sex" }} }} }} }}'


def pb(name):
    return importlib.import_module(f"trenode.v1.{name}_pb2")


def grpc_stub(name, service, channel):
    return getattr(importlib.import_module(f"trenode.v1.{name}_pb2_grpc"), service + "Stub")(
        channel)


class ChangeRecordsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.node = Node(ARGS.bin_dir, self.tmp.name)
        self.steward = self.node.token("data_steward", "sam")
        self.researcher = self.node.token("researcher", "ada")
        self.checker = self.node.token("output_checker", "olu")
        self.auditor = self.node.token("auditor", "audrey")
        site = os.path.join(self.tmp.name, "site")
        subprocess.run([os.path.join(ARGS.bin_dir, "trenode-synth"), "--seed", "5", "--persons",
                        "300", "--out", site], check=True, capture_output=True)
        self.ok("dataset", "import", site, token=self.steward)
        self.ok("project", "create", PROJECT, "--title", "Crashes", "--lay-summary", "Crashes.",
                "--datasets", DATASET, token=self.researcher)
        self.ok("project", "approve", PROJECT, "--reference", "REC 1", "--expires", "2099-01-01",
                "--datasets", DATASET, "--preapproved-query-kinds", "counts",
                token=self.steward)
        self.ok("training", "record", "ada@py-node", "--course", "SRT", "--completed",
                "2026-01-01", "--expires", "2099-01-01", token=self.steward)
        self.connect()
        # One succeeded analysis whose release is created and withdrawn over and over.
        analysis = self.submit("release-source")
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            got = self.analyses.GetAnalysis(pb("analyses").GetAnalysisRequest(
                analysis_id=analysis), metadata=self.auth(self.researcher), timeout=10)
            if got.state == pb("analyses").ANALYSIS_STATE_SUCCEEDED:
                break
            time.sleep(0.1)
        self.assertEqual(got.state, pb("analyses").ANALYSIS_STATE_SUCCEEDED, got.state_reason)
        self.release_source = analysis

    def tearDown(self):
        if self.node.process and self.node.process.poll() is None:
            self.node.stop()
        self.tmp.cleanup()

    def ok(self, *args, token):
        code, out, err = self.node.trectl(*args, token=token)
        self.assertEqual(code, 0, f"trectl {' '.join(args)}: {err}")
        return out

    def connect(self):
        channel = self.node.channel()
        self.governance = grpc_stub("governance", "Governance", channel)
        self.analyses = grpc_stub("analyses", "Analyses", channel)
        self.releases = grpc_stub("releases", "Releases", channel)
        self.log = grpc_stub("activity_log", "ActivityLog", channel)

    @staticmethod
    def auth(token):
        return (("authorization", "Bearer " + token),)

    def submit(self, request_id):
        from google.protobuf import text_format
        request = pb("analyses").SubmitAnalysisRequest(project_id=PROJECT, request_id=request_id)
        text_format.Parse(QUERY, request.query)
        return self.analyses.SubmitAnalysis(request, metadata=self.auth(self.researcher),
                                            timeout=10).id

    # --- load ----------------------------------------------------------------

    def run_clients(self, round_no, acknowledged, stop):
        """Threads making changes until the node dies or `stop` is set; each
        acknowledged object goes into acknowledged[kind]."""
        import grpc
        lock = threading.Lock()

        def keep(kind, object_id):
            with lock:
                acknowledged[kind].add(object_id)

        def create_projects(worker):
            n = 0
            while not stop.is_set():
                project = pb("governance").Project(
                    id=f"r{round_no}-w{worker}-{n}", title="Load",
                    principal_investigator="ada@py-node")
                try:
                    self.governance.CreateProject(
                        pb("governance").CreateProjectRequest(project=project),
                        metadata=self.auth(self.steward), timeout=5)
                except grpc.RpcError:
                    return
                keep("project", project.id)
                n += 1

        def submit_analyses():
            n = 0
            while not stop.is_set():
                try:
                    keep("analysis", self.submit(f"r{round_no}-{n}"))
                except grpc.RpcError:
                    return
                n += 1

        def cycle_releases():
            while not stop.is_set():
                try:
                    release = self.releases.CreateRelease(
                        pb("releases").CreateReleaseRequest(analysis_id=self.release_source),
                        metadata=self.auth(self.researcher), timeout=10)
                    keep("release", release.id)
                    self.releases.WithdrawRelease(
                        pb("releases").ReleaseIdRequest(release_id=release.id,
                                                        reason="load test"),
                        metadata=self.auth(self.researcher), timeout=10)
                except grpc.RpcError:
                    return

        threads = [threading.Thread(target=create_projects, args=(w,)) for w in range(6)]
        threads += [threading.Thread(target=submit_analyses),
                    threading.Thread(target=cycle_releases)]
        for thread in threads:
            thread.start()
        return threads

    # --- what the node holds, and what its log says ---------------------------

    def listed(self, method, request_type, field, token, **filters):
        ids, page = set(), ""
        while True:
            response = method(request_type(page_size=500, page_token=page, **filters),
                              metadata=self.auth(token), timeout=30)
            ids.update(item.id for item in getattr(response, field))
            page = response.next_page_token
            if not page:
                return ids

    def leaves(self):
        size = self.log.GetCheckpoint(pb("activity_log").GetCheckpointRequest(),
                                      metadata=self.auth(self.auditor), timeout=10).size
        leaves = []
        while len(leaves) < size:
            request = pb("activity_log").GetEntriesRequest(start=len(leaves))
            page = [e.leaf.decode() for e in self.log.GetEntries(
                request, metadata=self.auth(self.auditor), timeout=60)]
            self.assertTrue(page)
            leaves += page
        return leaves

    @staticmethod
    def field(leaf, key):
        for line in leaf.split("\n"):
            if line.startswith(key + " "):
                return line[len(key) + 1:]
        return ""

    def created_in_log(self, leaves, action, prefix):
        return {self.field(leaf, "object")[len(prefix):] for leaf in leaves
                if self.field(leaf, "action") == action}

    # --- the test --------------------------------------------------------------

    def test_kill_9_leaves_every_change_and_its_record_together(self):
        rng = random.Random(17)
        store = os.path.join(self.tmp.name, "verifier-state")
        acknowledged = {"project": set(), "analysis": set(), "release": set()}
        recovered = []
        rounds = 0
        while rounds < MAX_ROUNDS and not (rounds >= MIN_ROUNDS and
                                           sum(recovered) >= WANTED_RECOVERIES):
            stop = threading.Event()
            threads = self.run_clients(rounds, acknowledged, stop)
            time.sleep(rng.uniform(1.0, 3.0))
            self.node.process.kill()  # SIGKILL: no shutdown, nothing flushed
            self.node.process.wait()
            stop.set()
            for thread in threads:
                thread.join()
            # The last checkpoint the node signed before the kill, as it kept it.
            copy = self.node.database + ".checkpoint"
            if os.path.exists(copy):
                os.makedirs(store, exist_ok=True)
                shutil.copyfile(copy, os.path.join(store, "checkpoint"))
            self.node.start()
            self.connect()
            rounds += 1

            leaves = self.leaves()
            starts = [self.field(leaf, "reason") for leaf in leaves
                      if self.field(leaf, "action") == "node.start"]
            match = re.search(r"appended the records of (\d+) changes", starts[-1])
            recovered.append(int(match.group(1)) if match else 0)

            projects = self.listed(self.governance.ListProjects,
                                   pb("governance").ListProjectsRequest, "projects", self.steward)
            analyses = self.listed(self.analyses.ListAnalyses,
                                   pb("analyses").ListAnalysesRequest, "analyses", self.checker)
            releases = self.listed(self.releases.ListReleases,
                                   pb("releases").ListReleasesRequest, "releases", self.checker)
            self.assertEqual(projects, self.created_in_log(
                leaves, "governance.project.create", "project/"), f"round {rounds}")
            self.assertEqual(analyses, self.created_in_log(
                leaves, "analysis.submit", "analysis/"), f"round {rounds}")
            self.assertEqual(releases, self.created_in_log(
                leaves, "release.create", "release/"), f"round {rounds}")
            self.assertLessEqual(acknowledged["project"], projects)
            self.assertLessEqual(acknowledged["analysis"], analyses)
            self.assertLessEqual(acknowledged["release"], releases)
            # Withdrawals too: every withdrawn release's withdrawal is recorded.
            withdrawn = self.listed(
                self.releases.ListReleases, pb("releases").ListReleasesRequest, "releases",
                self.checker, state=pb("releases").RELEASE_STATE_WITHDRAWN)
            self.assertEqual(withdrawn, self.created_in_log(leaves, "release.withdraw",
                                                            "release/"), f"round {rounds}")

            code, out, err = self.node.trectl("log", "verify", "--log-key", self.node.log_pub,
                                              "--checkpoint-store", store, token=self.auditor)
            self.assertEqual(code, 0, err)
            if rounds > 1:
                self.assertIn("consistent with the saved checkpoint", out)

        print(f"{rounds} rounds; {sum(len(v) for v in acknowledged.values())} acknowledged "
              f"changes; kills between a change and its record's append, recovered at the "
              f"next start, per round: {recovered}", file=sys.stderr)
        self.assertGreater(sum(recovered), 0,
                           "no kill landed between a change and its record: the test proved "
                           "nothing about that window")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as stubs:
        subprocess.run(["protoc", f"-I{ARGS.proto_dir}", f"--python_out={stubs}",
                        f"--grpc_python_out={stubs}",
                        "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
                        "trenode/v1/activity_log.proto", "trenode/v1/governance.proto",
                        "trenode/v1/analyses.proto", "trenode/v1/releases.proto",
                        "trenode/v1/query.proto"],
                       check=True)
        sys.path.insert(0, stubs)
        program = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
