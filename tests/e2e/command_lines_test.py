#!/usr/bin/python3
"""Every program the build makes answers --help and refuses what it does not know.

For each binary (the node, trectl, trenode-synth, the job runner and the
benchmarks): --help and -h print its usage, naming the program, on stdout and
exit 0; an unknown flag, or a flag missing its value, exits 2 with a line on
stderr naming the flag, then the usage. A benchmark must never start on such
a command line: every run has a short timeout, so a regression fails at once
instead of running a benchmark.

usage: command_lines_test.py --bin-dir DIR
"""
import argparse
import os
import subprocess
import sys
import unittest

ARGS = None
TIMEOUT_SECONDS = 20

# Each program with one of its flags that takes a value (None: it takes none).
PROGRAMS = {
    "trenode": "--config",
    "trectl": "--node",
    "trenode-synth": "--seed",
    "trenode-job-runner": None,
    "trenode-bench": "--datasets",
    "trenode-disclosure-bench": "--rows",
    "trenode-federation-bench": "--nodes",
    "trenode-ledger-bench": "--persons",
    "trenode-log-bench": "--events",
    "trenode-query-bench": "--persons",
    "trenode-import-bench": "--persons",
    "trenode-json-bench": "--datasets",
}


def run(program, *args):
    """Runs a program with the environment's trenode settings removed."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRENODE_")}
    return subprocess.run([os.path.join(ARGS.bin_dir, program), *args], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, text=True,
                          timeout=TIMEOUT_SECONDS)


class CommandLinesTest(unittest.TestCase):
    def assert_help(self, program, *args):
        done = run(program, *args)
        self.assertEqual(done.returncode, 0, done.stderr)
        self.assertTrue(done.stdout.startswith("usage: "), done.stdout)
        self.assertIn(program, done.stdout.splitlines()[0])
        self.assertEqual(done.stderr, "")

    def assert_refused(self, program, flag, *args):
        done = run(program, *args)
        self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
        error, *usage = done.stderr.splitlines()
        self.assertIn(flag, error)
        self.assertTrue(error.startswith(program + ": "), error)
        self.assertTrue(usage and usage[0].startswith("usage: "), done.stderr)
        self.assertEqual(done.stdout, "")

    def test_help(self):
        for program in PROGRAMS:
            for flag in ("--help", "-h"):
                with self.subTest(program=program, flag=flag):
                    self.assert_help(program, flag)

    def test_unknown_flag(self):
        for program in PROGRAMS:
            with self.subTest(program=program):
                self.assert_refused(program, "--no-such-flag", "--no-such-flag")
                self.assert_refused(program, "--no-such-flag", "--no-such-flag", "1")

    def test_flag_missing_its_value(self):
        for program, flag in PROGRAMS.items():
            if flag is None:
                continue
            with self.subTest(program=program):
                self.assert_refused(program, flag, flag)

    def test_trectl_areas_and_commands(self):
        for words in (["dataset"], ["dataset", "search"], ["project"], ["training"],
                      ["analysis"], ["release"], ["disclosure"], ["log"], ["federation"],
                      ["pki"], ["token"]):
            with self.subTest(words=words):
                done = run("trectl", *words, "--help")
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertTrue(done.stdout.startswith("usage: trectl"), done.stdout)
                self.assertIn(words[0], done.stdout.splitlines()[0])
                self.assertEqual(run("trectl", *words, "-h").stdout, done.stdout)
        # An area without its command is an incomplete command line.
        done = run("trectl", "dataset")
        self.assertEqual(done.returncode, 2)
        self.assertTrue(done.stderr.startswith("usage: trectl"), done.stderr)

    # A command of each area (and each local command).
    COMMANDS = (["dataset", "import"], ["project", "approve"], ["project", "check-access"],
                ["training", "record"], ["analysis", "submit"], ["analysis", "watch"],
                ["release", "download"], ["release", "review"], ["log", "export"],
                ["log", "verify"], ["federation", "logs"], ["federation", "peers"],
                ["pki", "issue"])

    def test_trectl_commands_answer_help_with_their_usage(self):
        for words in self.COMMANDS:
            with self.subTest(words=words):
                done = run("trectl", *words, "--help")
                self.assertEqual(done.returncode, 0, done.stderr)
                self.assertEqual(done.stderr, "")
                self.assertTrue(done.stdout.startswith("usage: trectl " + " ".join(words)),
                                done.stdout)
                # The command's usage, not its area's.
                self.assertNotEqual(done.stdout, run("trectl", words[0], "--help").stdout)

    def test_trectl_commands_refuse_flags_they_do_not_take(self):
        # No node and no --ca: a flag is refused before any connection is tried.
        for words in self.COMMANDS:
            with self.subTest(words=words):
                done = run("trectl", *words, "x", "--no-such-flag", "1")
                self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
                error, *usage = done.stderr.splitlines()
                self.assertEqual(error, f"trectl: unknown flag --no-such-flag for "
                                        f"{' '.join(words)}")
                self.assertTrue(usage and usage[0].startswith("usage: trectl " + " ".join(words)),
                                done.stderr)
                self.assertEqual(done.stdout, "")
        # Another command's flag is not this command's.
        for words, flag in ((["release", "download", "r", "f"], "--reason"),
                            (["log", "export"], "--log-key"),
                            (["analysis", "status", "a"], "--project"),
                            (["project", "get", "p"], "--datasets"),
                            (["training", "list"], "--course"),
                            (["federation", "self"], "--all"),
                            (["pki", "dev-issuer", "--dir", "/dev/null/d"], "--origin"),
                            (["token"], "--dir"),
                            (["disclosure", "check", "t.csv", "--kind", "counts"], "--out")):
            with self.subTest(words=words, flag=flag):
                done = run("trectl", *words, flag, "1")
                self.assertEqual(done.returncode, 2, done.stdout + done.stderr)
                self.assertIn(f"unknown flag {flag}", done.stderr.splitlines()[0])
        # Global flags are every command's.
        done = run("trectl", "--node", "127.0.0.1:1", "log", "export", "--format", "fhir")
        self.assertEqual(done.returncode, 2)
        self.assertIn("--ca FILE", done.stderr, "got past the flag check to the connection")


def main():
    global ARGS
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    program = unittest.main(argv=[sys.argv[0], *rest], exit=False, verbosity=2)
    sys.exit(0 if program.result.wasSuccessful() else 1)


if __name__ == "__main__":
    main()
