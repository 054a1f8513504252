#!/usr/bin/python3
"""trenode against a real OIDC issuer (oauth2-mock-server from npm).

The issuer serves its JWKS over HTTPS on a loopback port; trenode fetches it
with libcurl (trusting the test CA), verifies RS256 and ES256 tokens the
issuer signs, maps Keycloak-style realm_access.roles to node roles, and picks
up a rotated key on an unknown key id.

usage: oidc_test.py --bin-dir DIR --proto-dir DIR --oidc-dir DIR
"""
import argparse
import importlib
import json
import os
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node  # noqa: E402

ARGS = None
PB = None


class MockIssuer:
    def __init__(self, key, cert):
        self.process = subprocess.Popen(
            ["node", os.path.join(ARGS.oidc_dir, "mock_issuer.mjs"), key, cert],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd=ARGS.oidc_dir)
        line = self.process.stdout.readline()
        if not line:
            raise RuntimeError("the mock issuer did not start (run scripts/install-deps)")
        self.url = json.loads(line)["issuer"]

    def ask(self, request):
        self.process.stdin.write(json.dumps(request) + "\n")
        self.process.stdin.flush()
        reply = json.loads(self.process.stdout.readline())
        if "error" in reply:
            raise RuntimeError(reply["error"])
        return reply

    def token(self, kid="rsa-1", sub="ada", aud="trenode", roles=("tre-researcher",), **extra):
        mint = {"kid": kid, "sub": sub, "aud": aud, "roles": list(roles), **extra}
        return self.ask({"mint": mint})["token"]

    def stop(self):
        self.process.stdin.close()
        self.process.wait(timeout=10)


class OidcTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        import grpc
        cls.grpc = grpc
        cls.tmp = tempfile.TemporaryDirectory()
        cls.node = Node(ARGS.bin_dir, cls.tmp.name, node_id="oidc-node", start=False)
        cls.node.trectl_local("pki", "issue", "--dir", cls.node.pki, "--node", "idp")
        cls.issuer = MockIssuer(os.path.join(cls.node.pki, "idp.key"),
                                os.path.join(cls.node.pki, "idp.pem"))
        cls.node.configure(f'''oidc {{
  issuer: "{cls.issuer.url}"
  audiences: "trenode"
  jwks_uri: "{cls.issuer.url}/jwks"
  jwks_ca_file: "pki/ca.pem"
  roles_claim: "realm_access.roles"
  role_mappings {{ claim_value: "tre-researcher" role: ROLE_RESEARCHER }}
  role_mappings {{ claim_value: "tre-steward" role: ROLE_DATA_STEWARD }}
  jwks_min_refresh_seconds: 1
}}''')
        cls.node.start()
        cls.channel = cls.node.channel()
        cls.catalogue = importlib.import_module("trenode.v1.catalogue_pb2_grpc").CatalogueStub(
            cls.channel)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()
        cls.node.stop()
        cls.issuer.stop()
        cls.tmp.cleanup()

    def call(self, token):
        try:
            self.catalogue.ListDatasets(PB.ListDatasetsRequest(),
                                        metadata=(("authorization", "Bearer " + token),),
                                        timeout=10)
            return self.grpc.StatusCode.OK, ""
        except self.grpc.RpcError as error:
            return error.code(), error.details()

    def test_rs256_and_es256_tokens_from_the_issuer(self):
        self.assertEqual(self.call(self.issuer.token(kid="rsa-1"))[0], self.grpc.StatusCode.OK)
        self.assertEqual(self.call(self.issuer.token(kid="ec-1"))[0], self.grpc.StatusCode.OK)

    def test_refusals(self):
        code, details = self.call(self.issuer.token(expiresIn=-120))
        self.assertEqual(code, self.grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("expired", details)
        code, details = self.call(self.issuer.token(aud="another-api"))
        self.assertEqual(code, self.grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("not for this node", details)
        code, details = self.call(self.issuer.token(roles=["tre-visitor"]))
        self.assertEqual(code, self.grpc.StatusCode.UNAUTHENTICATED)
        self.assertIn("grants no role", details)
        code, details = self.call(self.issuer.token(roles=["tre-steward"]))
        self.assertEqual(code, self.grpc.StatusCode.OK)

    def test_rotated_key_is_fetched_on_an_unknown_kid(self):
        self.issuer.ask({"rotate": {"alg": "ES256", "kid": "ec-2"}})
        token = self.issuer.token(kid="ec-2")
        # The node refetches at most once a second (jwks_min_refresh_seconds: 1).
        deadline = time.monotonic() + 10
        while True:
            code, details = self.call(token)
            if code == self.grpc.StatusCode.OK or time.monotonic() > deadline:
                break
            time.sleep(0.2)
        self.assertEqual(code, self.grpc.StatusCode.OK, details)


def main():
    global ARGS, PB
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--oidc-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    ARGS.oidc_dir = os.path.abspath(ARGS.oidc_dir)
    with tempfile.TemporaryDirectory() as stubs:
        subprocess.run(["protoc", f"-I{ARGS.proto_dir}", f"--python_out={stubs}",
                        f"--grpc_python_out={stubs}",
                        "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
                        "trenode/v1/roles.proto", "trenode/v1/catalogue.proto"], check=True)
        sys.path.insert(0, stubs)
        PB = importlib.import_module("trenode.v1.catalogue_pb2")
        program = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
