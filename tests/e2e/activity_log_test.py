#!/usr/bin/python3
"""The activity log verified from outside, trusting only the node's log key.

A node records what happens (imports, refusals, project decisions); `trectl
log verify` recomputes the tree from the entries, checks the signed
checkpoint, and proves consistency with the checkpoint it saved last time.
Then the database is tampered with — an event changed, deleted or reordered,
the log rolled back and re-grown — and verification must fail, naming what it
found.

usage: activity_log_test.py --bin-dir DIR --proto-dir DIR
"""
import argparse
import importlib
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import fhir_r5  # noqa: E402
from harness import Node  # noqa: E402

ARGS = None


class ActivityLogTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        self.node = Node(ARGS.bin_dir, self.tmp.name)
        self.steward = self.node.token("data_steward", "sam")
        self.researcher = self.node.token("researcher", "ada")
        self.auditor = self.node.token("auditor", "audrey")
        self.store = os.path.join(self.tmp.name, "verifier-state")
        site = os.path.join(self.tmp.name, "site")
        subprocess.run([os.path.join(ARGS.bin_dir, "trenode-synth"), "--seed", "9", "--persons",
                        "150", "--out", site], check=True, capture_output=True)
        code, _, err = self.node.trectl("dataset", "import", site, token=self.steward)
        self.assertEqual(code, 0, err)
        code, _, _ = self.node.trectl("dataset", "retire", "synth-ehr-9", "--reason", "x",
                                      token=self.researcher)
        self.assertEqual(code, 4)
        code, _, err = self.node.trectl("project", "create", "echo-study", "--title", "Echo",
                                        "--lay-summary", "Heart scans.", token=self.researcher)
        self.assertEqual(code, 0, err)

    def tearDown(self):
        if self.node.process and self.node.process.poll() is None:
            self.node.stop()
        self.tmp.cleanup()

    def verify(self):
        return self.node.trectl("log", "verify", "--log-key", self.node.log_pub,
                                "--checkpoint-store", self.store, token=self.auditor)

    def entries(self):
        import grpc  # noqa: F401
        stub = importlib.import_module("trenode.v1.activity_log_pb2_grpc").ActivityLogStub(
            self.node.channel())
        pb = importlib.import_module("trenode.v1.activity_log_pb2")
        return [e.leaf.decode() for e in stub.GetEntries(
            pb.GetEntriesRequest(), metadata=(("authorization", "Bearer " + self.auditor),))]

    def tamper(self, *statements):
        self.node.stop()
        with sqlite3.connect(self.node.database) as db:
            for statement in statements:
                db.execute(statement)
        self.node.start()

    def test_events_are_recorded_and_the_log_verifies(self):
        code, out, err = self.verify()
        self.assertEqual(code, 0, err)
        self.assertIn("verified", out)
        leaves = self.entries()
        actions = [line.split(" ", 1)[1] for leaf in leaves for line in leaf.splitlines()
                   if line.startswith("action ")]
        self.assertIn("catalogue.dataset.register", actions)
        self.assertIn("governance.project.create", actions)
        self.assertIn("auth.deny", actions)
        deny = next(leaf for leaf in leaves if "action auth.deny" in leaf)
        self.assertIn("actor ada@py-node\n", deny)
        self.assertIn("role researcher\n", deny)
        self.assertIn("reason role researcher may not call /trenode.v1.Catalogue/RetireDataset\n",
                      deny)
        # More events, then consistency with the saved checkpoint.
        self.node.trectl("project", "create", "second-study", "--title", "Second",
                         "--lay-summary", "More.", token=self.researcher)
        code, out, err = self.verify()
        self.assertEqual(code, 0, err)
        self.assertIn("consistent with the saved checkpoint", out)

    def test_export_as_json_lines_and_fhir(self):
        import json
        code, out, err = self.node.trectl("log", "export", "--format", "jsonl",
                                          token=self.auditor)
        self.assertEqual(code, 0, err)
        events = [json.loads(line) for line in out.splitlines()]
        self.assertEqual([e["index"] for e in events], list(range(len(events))))
        deny = next(e for e in events if e["action"] == "auth.deny")
        self.assertEqual((deny["actor"], deny["role"], deny["outcome"]),
                         ("ada@py-node", "researcher", "deny"))
        code, out, err = self.node.trectl("log", "export", "--format", "fhir", token=self.auditor)
        self.assertEqual(code, 0, err)
        bundle = json.loads(out)
        # Valid R5, by definitions written apart from the exporter.
        problems = fhir_r5.validate(bundle)
        self.assertFalse(problems, "\n".join(["not valid FHIR R5:"] + problems))
        self.assertEqual(bundle["resourceType"], "Bundle")
        self.assertEqual(bundle["type"], "collection")
        audits = [entry["resource"] for entry in bundle["entry"]]
        self.assertEqual(len(audits), len(events))
        self.assertTrue(all(a["resourceType"] == "AuditEvent" for a in audits))
        # Element by element as spec/activity-log.md's mapping table says.
        for event, audit in zip(events, audits):
            self.assertEqual(audit["code"]["coding"][0],
                             {"system": "https://trenode.org/activity", "code": event["action"]})
            self.assertEqual(audit["recorded"], event["time"])
            self.assertEqual(audit["source"]["observer"]["identifier"]["value"], event["node"])
            self.assertEqual(audit["agent"][0]["requestor"], True)
            self.assertEqual(audit["agent"][0]["who"]["identifier"]["value"], event["actor"])
            self.assertEqual(audit["agent"][0]["role"], [{"text": event["role"]}])
            self.assertEqual(audit["outcome"]["code"]["code"],
                             {"allow": "0", "success": "0", "deny": "4", "failure": "8"}[
                                 event["outcome"]])
            self.assertEqual(audit["outcome"].get("detail"),
                             [{"text": event["reason"]}] if event["reason"] else None)
            self.assertEqual(audit["entity"][0]["what"]["identifier"]["value"], event["object"])
            roles = {e["role"]["text"]: e["what"]["identifier"]["value"]
                     for e in audit["entity"] if "role" in e}
            self.assertEqual(roles.get("project"), event["project"] or None)
            self.assertEqual(roles.get("request"), event["request"] or None)
        denied = next(a for a in audits if a["code"]["coding"][0]["code"] == "auth.deny")
        self.assertEqual(denied["outcome"]["code"]["system"],
                         "http://terminology.hl7.org/CodeSystem/audit-event-outcome")
        self.assertEqual(denied["agent"][0]["role"][0]["text"], "researcher")
        # No events: still a valid bundle (no empty entry array).
        code, out, err = self.node.trectl("log", "export", "--format", "fhir", "--until",
                                          "2000-01-01", token=self.auditor)
        self.assertEqual(code, 0, err)
        self.assertEqual(fhir_r5.validate(json.loads(out)), [])
        # Researchers may not read the log, except their own projects' events.
        self.assertEqual(self.node.trectl("log", "export", token=self.researcher)[0], 4)
        code, out, err = self.node.trectl("log", "export", "--project", "echo-study",
                                          token=self.researcher)
        self.assertEqual(code, 0, err)
        self.assertEqual([json.loads(line)["action"] for line in out.splitlines()],
                         ["governance.project.create"])

        def exported(*filters):
            code, out, err = self.node.trectl("log", "export", *filters, token=self.auditor)
            self.assertEqual(code, 0, err)
            return [json.loads(line) for line in out.splitlines()]

        # The researcher's refused reads above are in the log now too.
        events = exported()
        self.assertEqual(exported("--action", "governance."),
                         [e for e in events if e["action"].startswith("governance.")])
        self.assertEqual(exported("--actor", "ada@py-node", "--action", "auth.deny"),
                         [e for e in events
                          if e["actor"] == "ada@py-node" and e["action"] == "auth.deny"])
        self.assertEqual(exported("--since", "2000-01-01"), events)
        self.assertEqual(exported("--until", "2000-01-01T00:00:00Z"), [])
        middle = events[len(events) // 2]["time"]
        self.assertEqual(exported("--since", middle),
                         [e for e in events if e["time"] >= middle])
        code, _, err = self.node.trectl("log", "export", "--since", "yesterday",
                                        token=self.auditor)
        self.assertEqual(code, 2)
        self.assertIn("--since: \"yesterday\" is neither a date", err)

    def test_filters_and_researchers_own_project_events(self):
        import grpc
        stub = importlib.import_module("trenode.v1.activity_log_pb2_grpc").ActivityLogStub(
            self.node.channel())
        pb = importlib.import_module("trenode.v1.activity_log_pb2")

        def read(token, **filters):
            return [e.leaf.decode() for e in stub.GetEntries(
                pb.GetEntriesRequest(**filters),
                metadata=(("authorization", "Bearer " + token),))]

        governance = read(self.auditor, action="governance.")
        self.assertTrue(governance)
        self.assertTrue(all("\naction governance." in leaf for leaf in governance))
        by_ada = read(self.auditor, actor="ada@py-node")
        self.assertTrue(by_ada)
        self.assertTrue(all("\nactor ada@py-node\n" in leaf for leaf in by_ada))
        self.assertEqual(read(self.auditor, action="no.such.action"), [])

        own = read(self.researcher, project="echo-study")
        self.assertEqual(len(own), 1)
        self.assertIn("action governance.project.create", own[0])
        for filters in ({}, {"project": "someone-elses"}):
            with self.assertRaises(grpc.RpcError) as error:
                read(self.researcher, **filters)
            self.assertIn(error.exception.code(), (grpc.StatusCode.PERMISSION_DENIED,
                                                   grpc.StatusCode.NOT_FOUND))

    def test_watch_filters_and_researchers_own_project_events(self):
        import grpc
        stub = importlib.import_module("trenode.v1.activity_log_pb2_grpc").ActivityLogStub(
            self.node.channel())
        pb = importlib.import_module("trenode.v1.activity_log_pb2")

        def first(token, **filters):  # the first entry the live stream sends
            call = stub.WatchEntries(pb.WatchEntriesRequest(**filters), timeout=20,
                                     metadata=(("authorization", "Bearer " + token),))
            try:
                return next(iter(call))
            finally:
                call.cancel()

        entries = self.entries()
        deny = first(self.auditor, action="auth.deny")
        self.assertEqual(deny.index,
                         next(i for i, leaf in enumerate(entries) if "\naction auth.deny\n" in leaf))
        own = first(self.researcher, project="echo-study")
        self.assertEqual(own.leaf.decode(),
                         next(leaf for leaf in entries if "\nproject echo-study\n" in leaf))
        for filters in ({}, {"project": "someone-elses"}):
            with self.assertRaises(grpc.RpcError) as error:
                first(self.researcher, **filters)
            self.assertIn(error.exception.code(), (grpc.StatusCode.PERMISSION_DENIED,
                                                   grpc.StatusCode.NOT_FOUND))

    def test_tail_follows_new_events(self):
        env = dict(os.environ, TRENODE_NODE=self.node.address, TRENODE_CA=self.node.ca,
                   TRENODE_TOKEN=self.auditor)
        size = len(self.entries())
        tail = subprocess.Popen([os.path.join(ARGS.bin_dir, "trectl"), "log", "tail", "--from",
                                 str(size)], env=env, stdout=subprocess.PIPE, text=True)
        try:
            self.node.trectl("project", "create", "tailed-study", "--title", "T",
                             "--lay-summary", "T.", token=self.researcher)
            lines = []
            while not any("governance.project.create project/tailed-study" in l for l in lines):
                line = tail.stdout.readline()
                self.assertTrue(line, "tail ended early")
                lines.append(line)
            self.assertTrue(lines[0].startswith(f"{size} "), lines)
        finally:
            tail.kill()
            tail.wait()
            tail.stdout.close()

    def test_a_changed_event_is_found(self):
        self.assertEqual(self.verify()[0], 0)
        with sqlite3.connect(self.node.database) as db:
            (target,) = db.execute("SELECT MIN(idx) FROM log_entries"
                                   " WHERE CAST(leaf AS TEXT) LIKE '%role researcher%'").fetchone()
        self.assertIsNotNone(target)
        self.tamper("UPDATE log_entries SET leaf = CAST(replace(CAST(leaf AS TEXT), "
                    f"'role researcher', 'role data_steward') AS BLOB) WHERE idx = {target}")
        code, _, err = self.verify()
        self.assertEqual(code, 7, err)
        self.assertIn(f"entry {target} does not match the signed tree", err)

    def test_a_deleted_event_is_found(self):
        self.assertEqual(self.verify()[0], 0)
        self.tamper("DELETE FROM log_entries WHERE idx = 1")
        code, _, err = self.verify()
        self.assertEqual(code, 7, err)
        self.assertIn("verification FAILED", err)

    def test_reordered_events_are_found(self):
        self.assertEqual(self.verify()[0], 0)
        self.tamper("UPDATE log_entries SET idx = -1 WHERE idx = 0",
                    "UPDATE log_entries SET idx = 0 WHERE idx = 1",
                    "UPDATE log_entries SET idx = 1 WHERE idx = -1")
        code, _, err = self.verify()
        self.assertEqual(code, 7, err)
        self.assertIn("entry 0 does not match the signed tree", err)

    def test_a_rolled_back_and_regrown_log_is_found(self):
        code, out, err = self.verify()
        self.assertEqual(code, 0, err)
        saved_size = int(out.split("verified ")[1].split(" ")[0])
        keep = 2
        # Roll back to `keep` entries, erasing the node's own checkpoints too:
        # the node refuses to start on the checkpoint it keeps outside the
        # database.
        self.node.stop()
        with sqlite3.connect(self.node.database) as db:
            db.execute(f"DELETE FROM log_entries WHERE idx >= {keep}")
            db.execute("DELETE FROM log_checkpoints")
        code, output = self.node.start_expecting_failure()
        self.assertNotEqual(code, 0)
        self.assertIn("rolled back", output)
        # An operator who also removes that copy gets a node that starts; the
        # auditor's own store of checkpoints still finds the rewrite.
        os.remove(self.node.database + ".checkpoint")
        self.node.start()
        # Re-grow past the size the verifier saw, with different events.
        for i in range(saved_size):
            self.node.trectl("project", "create", f"fake-{i}", "--title", "F",
                             "--lay-summary", "F.", token=self.researcher)
        deadline = time.monotonic() + 10
        while True:
            code, _, err = self.verify()
            if code != 0 or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(code, 7, err)
        self.assertIn("not consistent with the checkpoint saved", err)

    def test_kill_9_loses_no_acknowledged_event(self):
        import grpc
        import threading
        self.assertEqual(self.verify()[0], 0)
        stub = importlib.import_module("trenode.v1.catalogue_pb2_grpc").CatalogueStub(
            self.node.channel())
        pb = importlib.import_module("trenode.v1.catalogue_pb2")
        acknowledged = []
        lock = threading.Lock()

        def refused_calls(n):
            # Each PERMISSION_DENIED answer means its auth.deny event is durable.
            reason = f"crash-{n}"
            while True:
                try:
                    stub.RetireDataset(pb.RetireDatasetRequest(id="synth-ehr-9", reason=reason),
                                       metadata=(("authorization", "Bearer " + self.researcher),),
                                       timeout=5)
                except grpc.RpcError as error:
                    if error.code() != grpc.StatusCode.PERMISSION_DENIED:
                        return
                    with lock:
                        acknowledged.append(n)

        threads = [threading.Thread(target=refused_calls, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(acknowledged) < 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        self.node.process.kill()  # SIGKILL: no shutdown, no final checkpoint
        self.node.process.wait()
        self.node.process.stdout.close()
        for thread in threads:
            thread.join()
        self.assertGreaterEqual(len(acknowledged), 200)

        self.node.start()
        code, out, err = self.verify()
        self.assertEqual(code, 0, err)
        self.assertIn("consistent with the saved checkpoint", out)
        denials = sum(1 for leaf in self.entries()
                      if "action auth.deny" in leaf and "RetireDataset" in leaf)
        self.assertGreaterEqual(denials, len(acknowledged))

    def test_the_node_refuses_to_start_on_a_log_shorter_than_its_checkpoint(self):
        self.assertEqual(self.verify()[0], 0)  # makes the node sign a checkpoint
        self.node.stop()
        with sqlite3.connect(self.node.database) as db:
            db.execute("DELETE FROM log_entries WHERE idx >= 1")
        code, err = self.node.start_expecting_failure()
        self.assertEqual(code, 1)
        self.assertIn("rolled back", err)


class FhirR5DefinitionsTest(unittest.TestCase):
    """The R5 checker itself: a hand-made R5 AuditEvent passes, and each of the
    mistakes it exists to catch is caught (no node needed)."""

    def good(self):
        return {"resourceType": "Bundle", "type": "collection", "entry": [{
            "fullUrl": "urn:uuid:0f1e2d3c-4b5a-8978-8695-a4b3c2d1e0f0",
            "resource": {
                "resourceType": "AuditEvent", "id": "n-1",
                "code": {"coding": [{"system": "https://trenode.org/activity",
                                     "code": "auth.deny"}]},
                "action": "E", "recorded": "2026-11-01T09:30:00.123456Z",
                "outcome": {"code": {"system": "http://terminology.hl7.org/CodeSystem/"
                                               "audit-event-outcome", "code": "4"},
                            "detail": [{"text": "role researcher may not"}]},
                "agent": [{"who": {"identifier": {"value": "ada@n"}},
                           "role": [{"text": "researcher"}], "requestor": True}],
                "source": {"observer": {"identifier": {"value": "n"}}},
                "entity": [{"what": {"identifier": {"value": "dataset/d"}},
                            "detail": [{"type": {"text": "sha256"},
                                        "valueBase64Binary": "qqqq"}]}]}}]}

    def audit(self, bundle):
        return bundle["entry"][0]["resource"]

    def assert_caught(self, change, expected):
        bundle = self.good()
        change(bundle)
        problems = fhir_r5.validate(bundle)
        self.assertTrue(any(expected in p for p in problems), problems)

    def test_a_valid_bundle_passes(self):
        self.assertEqual(fhir_r5.validate(self.good()), [])

    def test_mistakes_are_caught(self):
        def role_in_reference(b):
            self.audit(b)["agent"][0]["who"]["role"] = {"text": "researcher"}

        def outcome_code_as_concept(b):
            self.audit(b)["outcome"]["code"] = {"coding": [{"code": "4"}]}

        def detail_without_type(b):
            del self.audit(b)["entity"][0]["detail"][0]["type"]

        def detail_without_value(b):
            del self.audit(b)["entity"][0]["detail"][0]["valueBase64Binary"]

        def role_not_a_list(b):
            self.audit(b)["agent"][0]["role"] = {"text": "researcher"}

        def no_full_url(b):
            del b["entry"][0]["fullUrl"]

        def no_time_zone(b):
            self.audit(b)["recorded"] = "2026-11-01T09:30:00"

        def code_as_coding(b):
            self.audit(b)["code"] = {"system": "https://trenode.org/activity", "code": "x"}

        def unknown_action(b):
            self.audit(b)["action"] = "X"

        def empty_string(b):
            self.audit(b)["outcome"]["detail"] = [{"text": ""}]

        def empty_entry(b):
            b["entry"] = []

        def reference_of_nothing(b):
            self.audit(b)["source"]["observer"] = {"type": "Device"}

        def two_entries_one_url(b):
            b["entry"].append(b["entry"][0])

        def request_in_collection(b):
            b["entry"][0]["request"] = {"method": "POST", "url": "AuditEvent"}

        def bad_id(b):
            self.audit(b)["id"] = "n_1"

        for change, expected in [
                (role_in_reference, "agent[0].who.role: is not an element"),
                (outcome_code_as_concept, "outcome.code.coding: is not an element"),
                (detail_without_type, "detail[0].type: is required"),
                (detail_without_value, "detail[0].value[x]: is required"),
                (role_not_a_list, "agent[0].role: repeats"),
                (no_full_url, "entry[0].fullUrl: every entry has a fullUrl"),
                (no_time_zone, "is not a valid instant"),
                (code_as_coding, "code.system: is not an element"),
                (unknown_action, "not in the required value set"),
                (empty_string, "empty strings are not allowed"),
                (empty_entry, "empty arrays are not allowed"),
                (reference_of_nothing, "ref-2"),
                (two_entries_one_url, "bdl-7"),
                (request_in_collection, "bdl-3"),
                (bad_id, "is not a valid id")]:
            with self.subTest(change=change.__name__):
                self.assert_caught(change, expected)


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
                        "trenode/v1/activity_log.proto", "trenode/v1/catalogue.proto"],
                       check=True)
        sys.path.insert(0, stubs)
        program = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
