#!/usr/bin/python3
"""trectl shows progress to a person at a terminal, and to nobody else.

`trectl dataset import` and `trectl release download` run with stderr on a
pseudo-terminal: the progress line is drawn in place (carriage returns, no
line feeds until the end), with bytes of the total, rows for an import, then,
for an import, what the node says it is doing with the data (checking,
loading, indexing, storing, publishing: ImportDatasetWithProgress), and
ends with one summary line whose row count is the CSVs' own. With stderr a
pipe, or with --json, stderr stays empty.

usage: progress_test.py --bin-dir DIR
"""
import argparse
import fcntl
import json
import os
import pty
import re
import select
import struct
import subprocess
import sys
import tempfile
import termios
import time
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node  # noqa: E402

ARGS = None
DATASET = "synth-ehr-4"
PROJECT = "progress-study"
TIMEOUT_SECONDS = 120


class ProgressTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.node = Node(ARGS.bin_dir, cls.tmp.name)
        cls.steward = cls.node.token("data_steward", "sam")
        cls.researcher = cls.node.token("researcher", "ada")
        cls.checker = cls.node.token("output_checker", "olu")
        cls.site = os.path.join(cls.tmp.name, "site")
        subprocess.run([os.path.join(ARGS.bin_dir, "trenode-synth"), "--seed", "4", "--persons",
                        "2000", "--out", cls.site], check=True, capture_output=True)

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.tmp.cleanup()

    def trectl_on_terminal(self, *args, token):
        """Runs trectl with stderr on a pseudo-terminal (stdout a pipe); returns
        (exit code, stdout, what the terminal received)."""
        env = dict(os.environ, TRENODE_NODE=self.node.address, TRENODE_CA=self.node.ca,
                   TRENODE_TOKEN=token)
        controller, terminal = pty.openpty()
        fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 200, 0, 0))
        process = subprocess.Popen([os.path.join(ARGS.bin_dir, "trectl"), *args], env=env,
                                   stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                   stderr=terminal)
        os.close(terminal)
        received = b""
        deadline = time.monotonic() + TIMEOUT_SECONDS
        try:
            while time.monotonic() < deadline:
                ready, _, _ = select.select([controller], [], [], 1)
                if not ready:
                    if process.poll() is not None:
                        break
                    continue
                try:
                    data = os.read(controller, 65536)
                except OSError:  # EIO: trectl closed the terminal
                    break
                if not data:
                    break
                received += data
        finally:
            os.close(controller)
        out = process.stdout.read().decode()
        process.stdout.close()
        code = process.wait(timeout=TIMEOUT_SECONDS)
        return code, out, received.decode()

    def csv_rows(self):
        rows = 0
        for name in os.listdir(self.site):
            if name.endswith(".csv"):
                with open(os.path.join(self.site, name), "rb") as f:
                    rows += max(sum(1 for _ in f) - 1, 0)
        return rows

    def assert_drawn_in_place(self, shown, what):
        # Every drawing starts at the line's start; the terminal turns the one
        # line feed, after the summary, into CR LF.
        self.assertGreaterEqual(shown.count("\r" + what + ": "), 2, repr(shown))
        self.assertIn("\033[K", shown)
        self.assertEqual(shown.count("\n"), 1, f"one line, redrawn in place: {shown!r}")
        self.assertTrue(shown.endswith("\r\n"), repr(shown))

    def test_1_import(self):
        # On a terminal: progress, then a summary with the CSVs' row count.
        code, out, shown = self.trectl_on_terminal("dataset", "import", self.site,
                                                   token=self.steward)
        self.assertEqual(code, 0, shown)
        self.assertTrue(out.startswith(f"imported {DATASET} version 1"), out)
        what = f"import {DATASET}"
        self.assert_drawn_in_place(shown, what)
        total = sum(os.path.getsize(os.path.join(self.site, n))
                    for n in os.listdir(self.site) if n.endswith(".csv"))
        self.assertRegex(shown, r" of \d+\.\d [kM]B \(\d+%\)")
        self.assertIn("the node is checking the rows", shown)
        # Then the node's own phases, each drawn as it begins, in order.
        rows = self.csv_rows()
        # Every column of the synthetic site is declared, so the node checks
        # each row as it loads it: no checking pass of its own.
        self.assertNotIn("; node checking rows: ", shown)
        phases = ["; node loading rows: person, ",
                  "; node building index 1 of ", "; node loading rows: ",
                  "; node gathering statistics for the query planner (ANALYZE)",
                  "; node describing the columns of person",
                  "; node storing the dataset file: ", "; node publishing the catalogue entry"]
        # Person keys are looked up as the rows load: no phase of their own.
        self.assertNotIn("; node checking person keys", shown)
        at = 0
        for phase in phases:
            found = shown.find(phase, at)
            self.assertGreaterEqual(found, 0, f"{phase!r} after {shown[:at][-200:]!r}")
            at = found
        summary = shown.rsplit("\r", 2)[-2]
        self.assertRegex(summary, rf"^{what}: [\d.]+ [kM]B, [\d,]+ rows in .*; the node checked "
                                  r"and stored them in [\d.]+ (s|min)")
        self.assertIn(f"{self.csv_rows():,} rows", summary)
        self.assertIn(f"{total / 1e6:.1f} MB" if total >= 1e6 else "kB", summary)

        # Off a terminal: not a byte on stderr (the node's progress included).
        code, out, err = self.node.trectl("dataset", "import", self.site, "--expected-version",
                                          "1", token=self.steward)
        self.assertEqual(code, 0, err)
        self.assertEqual(err, "")
        self.assertTrue(out.startswith(f"imported {DATASET} version 2"), out)

        # --json on a terminal: the JSON only.
        code, out, shown = self.trectl_on_terminal("--json", "dataset", "import", self.site,
                                                   "--expected-version", "2", token=self.steward)
        self.assertEqual(code, 0, shown)
        self.assertEqual(shown, "")
        self.assertEqual(json.loads(out)["version"], "3")

        # A refused import leaves no half line before its error.
        code, out, shown = self.trectl_on_terminal("dataset", "import", self.site,
                                                   token=self.steward)
        self.assertEqual(code, 5, shown)
        error = shown.rsplit("\r\033[K", 1)[-1]
        self.assertTrue(error.startswith("trectl: "), repr(shown))

    def test_2_download(self):
        def ok(*args, token):
            code, out, err = self.node.trectl(*args, token=token)
            self.assertEqual(code, 0, f"trectl {' '.join(args)}: {err}")
            return out

        code, _, _ = self.node.trectl("dataset", "get", DATASET, token=self.steward)
        if code != 0:
            ok("dataset", "import", self.site, token=self.steward)
        ok("project", "create", PROJECT, "--title", "Progress", "--lay-summary", "Bars.",
           "--datasets", DATASET, token=self.researcher)
        ok("project", "approve", PROJECT, "--reference", "REC 1", "--expires", "2099-01-01",
           "--datasets", DATASET, "--preapproved-query-kinds", "counts", token=self.steward)
        ok("training", "record", "ada@py-node", "--course", "SRT", "--completed", "2026-01-01",
           "--expires", "2099-01-01", token=self.steward)
        analysis = json.loads(ok("--json", "analysis", "submit", "--project", PROJECT,
                                 "--dataset", DATASET, "--count-by", "sex", "--request-id",
                                 "progress-1", token=self.researcher))["id"]
        ok("analysis", "watch", analysis, token=self.researcher)
        release = json.loads(ok("--json", "release", "create", analysis,
                                token=self.researcher))
        ok("release", "submit", release["id"], token=self.researcher)
        release = json.loads(ok("--json", "release", "show", release["id"], token=self.checker))
        name = release["files"][0]["name"]
        size = int(release["files"][0]["size"])
        out_path = os.path.join(self.tmp.name, "copy.csv")

        # An output checker reads the file under review, on a terminal.
        code, out, shown = self.trectl_on_terminal(
            "release", "download", release["id"], name, "--out", out_path, token=self.checker)
        self.assertEqual(code, 0, shown)
        self.assertEqual(out, f"wrote {size} bytes to {out_path}\n")
        what = f"download {name}"
        self.assert_drawn_in_place(shown, what)
        self.assertIn(f" of {size} B (", shown, "the total comes from the release")
        self.assertRegex(shown.rsplit("\r", 2)[-2], rf"^{re.escape(what)}: {size} B in ")

        # Off a terminal, and with --json: nothing on stderr.
        code, out, err = self.node.trectl("release", "download", release["id"], name, "--out",
                                          out_path, token=self.checker)
        self.assertEqual((code, err), (0, ""))
        code, out, shown = self.trectl_on_terminal(
            "--json", "release", "download", release["id"], name, "--out", out_path,
            token=self.checker)
        self.assertEqual((code, shown), (0, ""))


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    program = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
