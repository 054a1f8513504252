#!/usr/bin/python3
"""A generic gRPC client, generated only from proto/, against a real trenode.

Starts the trenode binary on a loopback port, then uses Python grpcio stubs
(generated here by protoc from proto/ and the standard health and reflection
protos) to check health, list services by reflection, and call every
Catalogue RPC. Also checks the daemon's config errors and graceful stop.

usage: generic_client_test.py --bin-dir DIR --proto-dir DIR
"""
import argparse
import importlib
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
ARGS = None
STUBS = None


def generate_stubs(out_dir):
    """Runs protoc for proto/ plus the standard protos; returns a module loader."""
    protos = ["trenode/v1/roles.proto", "trenode/v1/catalogue.proto", "trenode/v1/config.proto"]
    # The standard protos keep their proto packages (grpc.health.v1, ...) but
    # live in grpc_standard/ so that their Python modules do not collide with
    # the grpcio library's own "grpc" package.
    standard = ["grpc_standard/health.proto", "grpc_standard/reflection.proto"]
    plugin = "/usr/bin/grpc_python_plugin"
    subprocess.run(["protoc", f"-I{ARGS.proto_dir}", f"-I{os.path.join(HERE, 'protos')}",
                    f"--python_out={out_dir}", f"--grpc_python_out={out_dir}",
                    f"--plugin=protoc-gen-grpc_python={plugin}", *protos, *standard],
                   check=True)
    sys.path.insert(0, out_dir)
    names = {
        "catalogue_pb2": "trenode.v1.catalogue_pb2",
        "catalogue_grpc": "trenode.v1.catalogue_pb2_grpc",
        "health_pb2": "grpc_standard.health_pb2",
        "health_grpc": "grpc_standard.health_pb2_grpc",
        "reflection_pb2": "grpc_standard.reflection_pb2",
        "reflection_grpc": "grpc_standard.reflection_pb2_grpc",
    }
    return {short: importlib.import_module(dotted) for short, dotted in names.items()}


TOKENS = {}


def as_role(role):
    """Call metadata with a bearer token for `role` from the class's node."""
    return (("authorization", "Bearer " + TOKENS[role]),)


class GenericClientTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        cls.grpc = grpc
        cls.tmp = tempfile.TemporaryDirectory()
        cls.node = Node(ARGS.bin_dir, cls.tmp.name)
        for role in ["researcher", "data_steward", "auditor"]:
            TOKENS[role] = cls.node.token(role)
        cls.channel = cls.node.channel()
        cls.catalogue = STUBS["catalogue_grpc"].CatalogueStub(cls.channel)
        cls.pb = STUBS["catalogue_pb2"]

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        code, output = cls.node.stop()
        cls.tmp.cleanup()
        assert code == 0, f"trenode exited {code} on SIGTERM: {output}"
        assert "stopped" in output, output

    def import_dataset(self, dataset_id, files, role="data_steward", expected_version=0):
        pb = self.pb

        def messages():
            header = pb.ImportDatasetHeader(expected_version=expected_version)
            header.dataset.id = dataset_id
            header.dataset.title = "Echo study " + dataset_id
            header.dataset.keywords.append("echocardiography")
            yield pb.ImportDatasetRequest(header=header)
            for name, data in files:
                yield pb.ImportDatasetRequest(
                    chunk=pb.ImportFileChunk(file_name=name, data=data.encode()))

        return self.catalogue.ImportDataset(messages(), metadata=as_role(role), timeout=30)

    def test_01_health(self):
        health = STUBS["health_grpc"].HealthStub(self.channel)
        serving = STUBS["health_pb2"].HealthCheckResponse.SERVING
        for service in ["", "trenode.v1.Catalogue"]:
            reply = health.Check(STUBS["health_pb2"].HealthCheckRequest(service=service), timeout=10)
            self.assertEqual(reply.status, serving, service)

    def test_02_reflection_lists_services_and_serves_descriptors(self):
        reflection = STUBS["reflection_grpc"].ServerReflectionStub(self.channel)
        pb = STUBS["reflection_pb2"]
        requests = [pb.ServerReflectionRequest(list_services=""),
                    pb.ServerReflectionRequest(file_containing_symbol="trenode.v1.Catalogue")]
        replies = list(reflection.ServerReflectionInfo(iter(requests), timeout=10))
        names = {s.name for s in replies[0].list_services_response.service}
        self.assertIn("trenode.v1.Catalogue", names)
        self.assertIn("grpc.health.v1.Health", names)
        from google.protobuf import descriptor_pb2
        files = [descriptor_pb2.FileDescriptorProto.FromString(b)
                 for b in replies[1].file_descriptor_response.file_descriptor_proto]
        catalogue = [f for f in files if f.name == "trenode/v1/catalogue.proto"][0]
        methods = {m.name for m in catalogue.service[0].method}
        self.assertEqual(methods, {"RegisterDataset", "ImportDataset",
                                   "ImportDatasetWithProgress", "UpdateDataset",
                                   "RetireDataset", "GetDataset", "ListDatasets",
                                   "SearchDatasets"})

    def test_03_every_catalogue_rpc(self):
        pb = self.pb
        person = "person_id,year_of_birth\nA1,1950\nA2,1970\n"
        echo = "person_id,lvef\nA1,32.5\nA2,61.0\n"
        imported = self.import_dataset("py-echo", [("person.csv", person), ("echo.csv", echo)])
        self.assertEqual(imported.version, 1)
        self.assertEqual(imported.population.label, "fewer than 100")
        location = imported.steward.storage_location

        # RegisterDataset: a second entry over the same stored data.
        second = pb.Dataset()
        second.CopyFrom(imported)
        second.id = "py-copy"
        second.title = "Copy of the echo study"
        registered = self.catalogue.RegisterDataset(pb.RegisterDatasetRequest(dataset=second),
                                                    metadata=as_role("data_steward"))
        self.assertEqual(registered.steward.storage_location, location)

        # UpdateDataset keeps version 1 readable.
        changed = pb.Dataset()
        changed.CopyFrom(registered)
        changed.description = "Now with a description about ventricles."
        updated = self.catalogue.UpdateDataset(
            pb.UpdateDatasetRequest(dataset=changed, expected_version=1),
            metadata=as_role("data_steward"))
        self.assertEqual(updated.version, 2)
        old = self.catalogue.GetDataset(pb.GetDatasetRequest(id="py-copy", version=1),
                                        metadata=as_role("researcher"))
        self.assertEqual(old.description, "")
        self.assertFalse(old.HasField("steward"))

        # SearchDatasets and ListDatasets as a researcher.
        hits = self.catalogue.SearchDatasets(pb.SearchDatasetsRequest(query="ventricles"),
                                             metadata=as_role("researcher"))
        self.assertEqual([h.dataset.id for h in hits.hits], ["py-copy"])
        listed = self.catalogue.ListDatasets(pb.ListDatasetsRequest(page_size=1),
                                             metadata=as_role("researcher"))
        self.assertEqual(len(listed.datasets), 1)
        self.assertTrue(listed.next_page_token)
        rest = self.catalogue.ListDatasets(
            pb.ListDatasetsRequest(page_size=1, page_token=listed.next_page_token),
            metadata=as_role("researcher"))
        self.assertEqual({listed.datasets[0].id, rest.datasets[0].id}, {"py-copy", "py-echo"})

        # RetireDataset hides it from researchers.
        self.catalogue.RetireDataset(pb.RetireDatasetRequest(id="py-copy", reason="duplicate"),
                                     metadata=as_role("data_steward"))
        with self.assertRaises(self.grpc.RpcError) as error:
            self.catalogue.GetDataset(pb.GetDatasetRequest(id="py-copy"),
                                      metadata=as_role("researcher"))
        self.assertEqual(error.exception.code(), self.grpc.StatusCode.NOT_FOUND)

    def test_04_errors_carry_codes_and_places(self):
        pb = self.pb
        with self.assertRaises(self.grpc.RpcError) as error:
            self.import_dataset("py-bad", [("person.csv", "person_id,year_of_birth\nB1,19x0\nB2\n")])
        self.assertEqual(error.exception.code(), self.grpc.StatusCode.INVALID_ARGUMENT)
        self.assertEqual(error.exception.details(), "person.csv line 3: has 1 fields; the header has 2")
        with self.assertRaises(self.grpc.RpcError) as error:
            self.catalogue.GetDataset(pb.GetDatasetRequest(id="py-echo"))
        self.assertEqual(error.exception.code(), self.grpc.StatusCode.UNAUTHENTICATED)
        with self.assertRaises(self.grpc.RpcError) as error:
            self.catalogue.RetireDataset(pb.RetireDatasetRequest(id="py-echo", reason="x"),
                                         metadata=as_role("researcher"))
        self.assertEqual(error.exception.code(), self.grpc.StatusCode.PERMISSION_DENIED)


class TrectlTest(unittest.TestCase):
    """trectl against a real node: output, JSON and exit codes."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.node = Node(ARGS.bin_dir, cls.tmp.name)
        cls.researcher = cls.node.token("researcher")
        cls.steward = cls.node.token("data_steward")
        cls.site = os.path.join(cls.tmp.name, "site")
        subprocess.run([os.path.join(ARGS.bin_dir, "trenode-synth"), "--seed", "5",
                        "--persons", "300", "--out", cls.site], check=True, capture_output=True)
        # Every test reads this dataset; the import itself is checked below.
        cls.imported = cls.trectl(cls, "dataset", "import", cls.site, token=cls.steward)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.tmp.cleanup()

    def trectl(self, *args, token=None):
        env = dict(os.environ, TRENODE_NODE=self.node.address, TRENODE_CA=self.node.ca,
                   TRENODE_TOKEN=token or self.researcher)
        result = subprocess.run([os.path.join(ARGS.bin_dir, "trectl"), *args],
                                capture_output=True, text=True, timeout=60, env=env)
        return result.returncode, result.stdout, result.stderr

    def test_import_list_search_get_and_exit_codes(self):
        import json
        code, out, err = self.imported
        self.assertEqual(code, 0, err)
        self.assertIn("imported synth-ehr-5 version 1: 4 tables", out)

        code, out, _ = self.trectl("--json", "dataset", "list")
        self.assertEqual(code, 0)
        listed = json.loads(out)
        self.assertEqual([d["id"] for d in listed["datasets"]], ["synth-ehr-5"])
        self.assertNotIn("steward", listed["datasets"][0])
        self.assertEqual(listed["datasets"][0]["population"]["label"], "100 to 999")

        code, out, _ = self.trectl("dataset", "search", "ejection", "fraction")
        self.assertEqual(code, 0)
        # A person reads a rank and a share of the best hit, not a raw bm25 score.
        header, hit = out.splitlines()[:2]
        self.assertEqual(header.split()[:3], ["RANK", "MATCH", "ID"])
        self.assertEqual(hit.split()[:3], ["1", "100%", "synth-ehr-5"])
        code, out, _ = self.trectl("dataset", "get", "synth-ehr-5", token=self.steward)
        self.assertEqual(code, 0)
        self.assertIn("persons:      300 (stewards only)", out)

        self.assertEqual(self.trectl("dataset", "get", "no-such-data")[0], 3)
        code, _, err = self.trectl("dataset", "retire", "synth-ehr-5", "--reason", "x")
        self.assertEqual(code, 4)
        self.assertIn("PERMISSION_DENIED", err)
        # Importing again without --expected-version is refused with the version to give.
        code, _, err = self.trectl("dataset", "import", self.site, token=self.steward)
        self.assertEqual(code, 5)
        self.assertIn("set expected_version to 1", err)
        self.assertEqual(self.trectl("dataset", "get")[0], 2)
        self.assertEqual(self.trectl("dataset", "list", "--bogus", "1")[0], 2)

    def test_project_approval_membership_training_and_access(self):
        import json
        steward = self.steward
        self.assertEqual(self.trectl("project", "frobnicate")[0], 2)
        code, out, err = self.trectl("project", "create", "echo-study", "--title", "Echo study",
                                     "--lay-summary", "Looking at heart scans.")
        self.assertEqual(code, 0, err)
        self.assertIn("PI:            py-researcher@py-node", out)
        code, _, err = self.trectl("project", "approve", "echo-study", "--reference", "R1",
                                   "--expires", "2099-01-01", "--datasets", "synth-ehr-5")
        self.assertEqual(code, 4, err)  # researchers do not approve
        code, out, err = self.trectl("project", "approve", "echo-study", "--reference", "R1",
                                     "--expires", "2099-01-01", "--datasets", "synth-ehr-5",
                                     token=steward)
        self.assertEqual(code, 0, err)
        self.assertIn("expires 2099-01-01", out)
        code, out, _ = self.trectl("project", "check-access", "echo-study", "--datasets",
                                   "synth-ehr-5")
        self.assertEqual(code, 4)
        self.assertIn("refused: py-researcher@py-node has no training record at this node", out)
        code, _, err = self.trectl("training", "record", "py-researcher@py-node", "--course",
                                   "Safe Researcher", "--completed", "2026-01-01", "--expires",
                                   "2099-01-01", token=steward)
        self.assertEqual(code, 0, err)
        code, out, _ = self.trectl("project", "check-access", "echo-study", "--datasets",
                                   "synth-ehr-5")
        self.assertEqual((code, out.strip()), (0, "allowed"))
        code, out, _ = self.trectl("--json", "project", "register")
        self.assertEqual(code, 0)
        self.assertEqual([p["project_id"] for p in json.loads(out)["projects"]], ["echo-study"])

    def test_bad_csv_names_file_line_and_field(self):
        bad = os.path.join(self.tmp.name, "bad")
        os.makedirs(bad)
        with open(os.path.join(bad, "person.csv"), "w") as f:
            f.write("person_id,year_of_birth\nQ1,1950\nQ2,1960\n")
        with open(os.path.join(bad, "visit.csv"), "w") as f:
            f.write("person_id,visit_date\nQ1,2020-01-01\nQ3,2020-02-02\n")
        code, _, err = self.trectl("dataset", "import", bad, "--id", "bad-set", token=self.steward)
        self.assertEqual(code, 5)
        self.assertIn('visit.csv line 3 field 1 (person_id): unknown person key "Q3"', err)
        self.assertEqual(self.trectl("dataset", "get", "bad-set", token=self.steward)[0], 3)


class DaemonTest(unittest.TestCase):
    def run_with_config(self, text):
        with tempfile.TemporaryDirectory() as root:
            path = os.path.join(root, "bad.textproto")
            with open(path, "w") as f:
                f.write(text)
            result = subprocess.run([os.path.join(ARGS.bin_dir, "trenode"), "--config", path],
                                    capture_output=True, text=True, timeout=30)
            return result.returncode, result.stderr.replace(path, "CONFIG")

    def test_bad_config_is_one_line_naming_the_field(self):
        code, err = self.run_with_config('node_id: "a-node" listen_address: "0.0.0.0"')
        self.assertEqual(code, 2)
        self.assertEqual(err.count("\n"), 1, err)
        self.assertIn('CONFIG: listen_address: "0.0.0.0" must be host:port', err)
        code, err = self.run_with_config('node_id: "a-node"\nbogus: 1\n')
        self.assertEqual(code, 2)
        self.assertIn("CONFIG: line 2 column", err)

    def test_missing_arguments(self):
        result = subprocess.run([os.path.join(ARGS.bin_dir, "trenode")], capture_output=True,
                                text=True, timeout=30)
        self.assertEqual(result.returncode, 2)
        self.assertIn("--config FILE is required", result.stderr)


def main():
    global ARGS, STUBS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    with tempfile.TemporaryDirectory() as stubs_dir:
        STUBS = generate_stubs(stubs_dir)
        program = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
