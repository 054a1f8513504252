#!/usr/bin/python3
"""Partners between real trenode processes sharing one federation CA: a
node's people see its partners with `trectl federation peers`; a partner
removed from the config file is refused after SIGHUP, without a restart; a
config that fails validation on SIGHUP changes nothing; the node keeps
serving throughout and stops cleanly.

usage: federation_test.py --bin-dir DIR --proto-dir DIR
"""
import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node  # noqa: E402

ARGS = None


def partner_block(partners, witness_every=0):
    return "federation { " + " ".join(
        f'partners {{ node_id: "{node}" address: "{address}" }}' for node, address in partners) + (
        f" witness_interval_seconds: {witness_every}" if witness_every else "") + " }"


class FederationPartnersTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory()
        federation = os.path.join(self.tmp.name, "federation-pki")
        subprocess.run([os.path.join(ARGS.bin_dir, "trectl"), "pki", "init", "--dir", federation],
                       check=True, capture_output=True)
        self.b = Node(ARGS.bin_dir, os.path.join(self.tmp.name, "b"), "site-b",
                      federation_pki=federation,
                      extra_config='institution: "University B"\n' +
                      partner_block([("site-a", "127.0.0.1:1")]))
        self.a = Node(ARGS.bin_dir, os.path.join(self.tmp.name, "a"), "site-a",
                      federation_pki=federation,
                      extra_config=partner_block([("site-b", self.b.address)]))
        self.nodes = [self.a, self.b]

    def tearDown(self):
        for node in self.nodes:
            if node.process and node.process.poll() is None:
                node.process.kill()
                node.process.wait()
        self.tmp.cleanup()

    def peers_of_a(self):
        code, out, err = self.a.trectl("--json", "federation", "peers",
                                       token=self.a.token("researcher"))
        self.assertEqual(code, 0, err)
        return {p["node_id"]: p for p in json.loads(out).get("partners", [])}

    def wait_for_b_to_be(self, reachability):
        deadline = time.monotonic() + 10
        while True:
            seen = self.peers_of_a()["site-b"]
            if seen["reachability"] == reachability or time.monotonic() > deadline:
                return seen
            time.sleep(0.1)

    def reconfigure_b(self, extra_config):
        self.b.extra_config = extra_config
        self.b.configure(f'oidc {{ issuer: "{Node.ISSUER}" audiences: "trenode" '
                         f'jwks_file: "pki/dev-issuer-jwks.json" }}')
        self.b.process.send_signal(signal.SIGHUP)

    def restart_with(self, node, extra_config):
        node.stop()
        node.extra_config = extra_config
        node.configure(f'oidc {{ issuer: "{Node.ISSUER}" audiences: "trenode" '
                       f'jwks_file: "pki/dev-issuer-jwks.json" }}')
        node.start()

    def test_peers_then_removal_on_sighup_then_readmission(self):
        seen = self.peers_of_a()["site-b"]
        self.assertEqual(seen["reachability"], "REACHABILITY_ANSWERED", seen)
        self.assertEqual(seen["info"]["institution"], "University B")
        with open(os.path.join(self.b.pki, "log.pub")) as f:
            self.assertEqual(seen["info"]["log_verifier_key"], f.read().strip())

        code, out, err = self.a.trectl("federation", "peers", token=self.a.token("data_steward"))
        self.assertEqual(code, 0, err)
        line = [l for l in out.splitlines() if l.startswith("site-b")][0]
        for word in ("answered", "University B", "trenode.v1", "aggregate_queries"):
            self.assertIn(word, line)

        # B drops A from its file and is told to re-read it.
        self.reconfigure_b('institution: "University B"\n')
        seen = self.wait_for_b_to_be("REACHABILITY_REFUSED")
        self.assertEqual(seen["reachability"], "REACHABILITY_REFUSED", seen)
        self.assertIn('"site-a" is not a partner', seen["detail"])

        # A file that fails validation changes nothing: A stays refused.
        self.reconfigure_b(partner_block([("site-a", "no-port")]))
        time.sleep(0.5)
        self.assertEqual(self.b.process.poll(), None, "a bad config on SIGHUP stopped the node")
        self.assertEqual(self.peers_of_a()["site-b"]["reachability"], "REACHABILITY_REFUSED")

        self.reconfigure_b(partner_block([("site-a", self.a.address)]))
        seen = self.wait_for_b_to_be("REACHABILITY_ANSWERED")
        self.assertEqual(seen["reachability"], "REACHABILITY_ANSWERED", seen)

        code, output = self.b.stop()
        self.assertEqual(code, 0, output)
        self.assertIn("SIGHUP: partners added [] removed [site-a] readdressed []", output)
        self.assertIn("SIGHUP: bad config, partners unchanged", output)
        self.assertIn("federation.partners[0].address", output)
        self.assertIn("SIGHUP: partners added [site-a] removed [] readdressed []", output)
        code, output = self.a.stop()
        self.assertEqual(code, 0, output)

    def test_nodes_witness_each_other_and_an_auditor_verifies_every_log(self):
        # Both check each other's log every second (an interval is read at
        # start; partners' addresses on SIGHUP).
        self.restart_with(self.b, partner_block([("site-a", "127.0.0.1:1")], witness_every=1))
        self.restart_with(self.a, partner_block([("site-b", self.b.address)], witness_every=1))
        self.reconfigure_b(partner_block([("site-a", self.a.address)], witness_every=1))
        keys = os.path.join(self.tmp.name, "log-keys")
        with open(keys, "w") as out:
            for node in (self.a, self.b):
                with open(os.path.join(node.pki, "log.pub")) as f:
                    out.write(f"{node.node_id} {f.read().strip()}\n")
        deadline = time.monotonic() + 30
        while True:
            code, out, err = self.a.trectl("federation", "logs", "--all", "--log-keys", keys,
                                           token=self.a.token("auditor"))
            if code == 0 or time.monotonic() > deadline:
                break
            time.sleep(0.5)
        self.assertEqual(code, 0, out + err)
        lines = {l.split()[0]: l for l in out.splitlines()[1:] if l.strip()}
        self.assertEqual(set(lines), {"site-a", "site-b"}, out)
        self.assertIn("verified", lines["site-a"])
        self.assertIn("site-b@", lines["site-a"])  # b cosigned a's log
        self.assertIn("site-a@", lines["site-b"])
        self.assertIn("pinned", lines["site-b"])

        # This node's log alone (its partners still vouch for their witness keys).
        code, out, err = self.a.trectl("federation", "logs", "--log-keys", keys,
                                       token=self.a.token("auditor"))
        self.assertEqual(code, 0, out + err)
        self.assertEqual([l.split()[0] for l in out.splitlines()[1:] if l.strip()], ["site-a"])
        code, out, err = self.a.trectl("--json", "federation", "logs", "--all",
                                       token=self.a.token("auditor"))
        self.assertEqual(code, 0, out + err)
        verdict = json.loads(out)
        self.assertTrue(verdict["verified"])
        self.assertEqual([n["log_key"] for n in verdict["nodes"]], ["as reported"] * 2)

        # A pinned key that is not the node's, or a pinned node the relay
        # leaves out: those fail, exit 7.
        with open(os.path.join(self.a.pki, "log.pub")) as f:
            a_key = f.read().strip()
        with open(keys, "w") as out:
            out.write(f"site-a {a_key}\nsite-b {a_key}\nsite-z {a_key}\n")
        code, out, err = self.a.trectl("federation", "logs", "--all", "--log-keys", keys,
                                       token=self.a.token("auditor"))
        self.assertEqual(code, 7, out + err)
        self.assertIn("not the one pinned", out)
        self.assertIn("pinned, but not in the relayed list", out)

        code, out, err = self.a.trectl("federation", "status", token=self.a.token("node_admin"))
        self.assertEqual(code, 0, out + err)
        line = [l for l in out.splitlines() if l.startswith("site-b")][0]
        self.assertIn("answered", line)
        self.assertNotIn("\nALARM ", out)
        code, out, err = self.a.trectl("federation", "status", token=self.a.token("researcher"))
        self.assertEqual(code, 4, out + err)
        for node in (self.a, self.b):
            code, output = node.stop()
            self.assertEqual(code, 0, output)

    def import_site(self, node, seed):
        site = os.path.join(self.tmp.name, f"site-{seed}")
        subprocess.run([os.path.join(ARGS.bin_dir, "trenode-synth"), "--seed", str(seed),
                        "--persons", "120", "--out", site], check=True, capture_output=True)
        code, _, err = node.trectl("dataset", "import", site, token=node.token("data_steward"))
        self.assertEqual(code, 0, err)

    def test_all_partners_with_a_theme_chooses_the_nodes_that_hold_it(self):
        submit = ["analysis", "submit", "--project", "hf", "--dataset", "synth-ehr-4",
                  "--count-by", "sex", "--request-id", "theme-1",
                  "--all-partners-with", "Cardiovascular"]
        self.import_site(self.b, 5)
        # Only b holds such a dataset: no federation of one.
        code, out, err = self.a.trectl(*submit, token=self.a.token("researcher"))
        self.assertEqual(code, 5, out + err)
        self.assertIn('theme "Cardiovascular": site-b', err)
        self.assertIn("left out: site-a (no dataset of that theme)", err)
        self.assertIn("needs two or more nodes", err)
        # With one at a too (a restarted: a node tells its themes as of at
        # most 30 s ago), both are asked, and a's own governance answers: no
        # such project here.
        self.import_site(self.a, 4)
        self.a.stop()
        self.a.start()
        code, out, err = self.a.trectl(*submit, token=self.a.token("researcher"))
        self.assertIn('theme "Cardiovascular": site-a, site-b\n', err)
        self.assertNotIn("left out", err)
        self.assertNotEqual(code, 0)
        self.assertIn("hf", err)
        code, out, err = self.a.trectl(*submit[:-2], "--nodes", "site-a", "--all-partners-with",
                                       "Cardiovascular", token=self.a.token("researcher"))
        self.assertEqual(code, 2, err)

    def test_a_partner_that_is_down_is_reported_not_waited_for(self):
        self.b.stop()
        start = time.monotonic()
        seen = self.peers_of_a()["site-b"]
        self.assertLess(time.monotonic() - start, 8)
        self.assertEqual(seen["reachability"], "REACHABILITY_UNREACHABLE", seen)
        code, output = self.a.stop()
        self.assertEqual(code, 0, output)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
