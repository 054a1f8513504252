#!/usr/bin/python3
"""Charging through trectl against a real node (spec/charging.md).

A node with a price table; a steward sets a project's monthly budget with
`trectl project budget`; a researcher asks `trectl analysis estimate`, runs
two counts that fit the budget, and has the third refused with an error
naming the budget, what is left and the estimate. `trectl project usage`
then lists the two metered runs: in JSON, CSV and as a table, and in each
the total equals the sum of the lines, exactly (decimal arithmetic, never
floating point).

usage: charging_test.py --bin-dir DIR
"""
import argparse
import csv
import decimal
import io
import json
import os
import subprocess
import sys
import tempfile
import unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import Node  # noqa: E402

ARGS = None
DATASET = "synth-ehr-4"
PROJECT = "charged-study"
PRICES = '''charging {
  currency: "GBP"
  prices { backend: "query" cpu_hour: "360.00" per_analysis: "1.00" }
}'''


class ChargingTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.TemporaryDirectory()
        cls.node = Node(ARGS.bin_dir, cls.tmp.name, extra_config=PRICES)
        cls.steward = cls.node.token("data_steward", "sam")
        cls.researcher = cls.node.token("researcher", "ada")
        site = os.path.join(cls.tmp.name, "site")
        subprocess.run([os.path.join(ARGS.bin_dir, "trenode-synth"), "--seed", "4", "--persons",
                        "1000", "--out", site], check=True, capture_output=True)
        cls.site = site

    @classmethod
    def tearDownClass(cls):
        cls.node.stop()
        cls.tmp.cleanup()

    def ok(self, *args, token):
        code, out, err = self.node.trectl(*args, token=token)
        self.assertEqual(code, 0, f"trectl {' '.join(args)}: {err}")
        return out

    def test_budget_estimate_and_statement(self):
        self.ok("dataset", "import", self.site, token=self.steward)
        self.ok("project", "create", PROJECT, "--title", "Charged", "--lay-summary", "Costs.",
                "--datasets", DATASET, token=self.researcher)
        self.ok("project", "approve", PROJECT, "--reference", "REC 1", "--expires", "2099-01-01",
                "--datasets", DATASET, "--preapproved-query-kinds", "counts", token=self.steward)
        self.ok("training", "record", "ada@py-node", "--course", "SRT", "--completed",
                "2026-01-01", "--expires", "2099-01-01", token=self.steward)

        # Researchers may not set budgets; stewards do, with a reason.
        code, _, err = self.node.trectl("project", "budget", PROJECT, "--monthly", "2.50",
                                        "--reason", "pilot", token=self.researcher)
        self.assertNotEqual(code, 0)
        self.assertIn("may not call", err)
        out = self.ok("project", "budget", PROJECT, "--monthly", "2.50", "--reason", "pilot",
                      token=self.steward)
        self.assertIn("budget:     2.50 GBP a month", out)
        # Setting one limit keeps the other: a CPU quota alone leaves the budget.
        out = self.ok("project", "budget", PROJECT, "--cpu-seconds", "100000", "--reason",
                      "quota", token=self.steward)
        self.assertIn("budget:     2.50 GBP a month", out)
        self.assertIn("100000 CPU-seconds a month", out)

        query = ("--project", PROJECT, "--dataset", DATASET, "--count-by", "sex")
        out = self.ok("analysis", "estimate", *query, token=self.researcher)
        self.assertIn("basis:       planner: 1000 rows", out)
        self.assertIn("budget left: 2.50 GBP", out)

        for request_id in ("c-1", "c-2"):
            analysis = json.loads(self.ok("--json", "analysis", "submit", *query, "--request-id",
                                          request_id, token=self.researcher))
            self.ok("analysis", "watch", analysis["id"], token=self.researcher)
        code, _, err = self.node.trectl("analysis", "submit", *query, "--request-id", "c-3",
                                        token=self.researcher)
        self.assertNotEqual(code, 0)
        self.assertIn(f"project {PROJECT}'s budget of 2.50 GBP for ", err)
        self.assertIn("this analysis is estimated at 1.0002 GBP", err)

        statement = json.loads(self.ok("--json", "project", "usage", PROJECT,
                                       token=self.researcher))
        # The approved dataset is metered from its approval: a storage line,
        # shown at no cost (the node prices no storage), its size withheld.
        datasets = [line for line in statement["lines"]
                    if line["kind"] == "storage" and line["analysis_id"] == "approved datasets"]
        self.assertEqual(len(datasets), 1, statement["lines"])
        self.assertNotIn("stored_byte_seconds", datasets[0])
        self.assertEqual(int(datasets[0]["cost"].get("total_micros", 0)), 0)
        lines = [line for line in statement["lines"] if line["kind"] == "query"]
        self.assertEqual(len(lines), 2)
        self.assertEqual(len(statement["lines"]), 3)
        for line in lines:
            self.assertEqual(line["usage"]["metered_by"], "query-thread")
            # The rows a query read are its cohort's exact size: withheld from researchers.
            self.assertNotIn("rows_read", line["usage"])
        costs = [int(line["cost"]["total_micros"]) for line in lines]
        self.assertTrue(all(cost >= 1_000_000 for cost in costs), costs)
        self.assertEqual(int(statement["total_micros"]), sum(costs))

        rows = list(csv.reader(io.StringIO(self.ok("project", "usage", PROJECT, "--month",
                                                   statement["month"], "--csv",
                                                   token=self.researcher))))
        header, body, total = rows[0], rows[1:-1], rows[-1]
        self.assertEqual(header[-1], "cost")
        self.assertEqual(len(body), 3)
        self.assertEqual(total[0], "total")
        self.assertEqual(decimal.Decimal(total[-1]),
                         sum(decimal.Decimal(row[-1]) for row in body))
        self.assertEqual(decimal.Decimal(total[-1]) * 1_000_000, sum(costs))

        table = self.ok("project", "usage", PROJECT, token=self.researcher)
        self.assertIn("(2 analyses, storage", table)
        self.assertIn("approved datasets    storage", table)
        self.assertIn("budget:    2.50 GBP a month", table)


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--bin-dir", required=True)
    ARGS, rest = parser.parse_known_args()
    unittest.main(argv=[sys.argv[0]] + rest)
