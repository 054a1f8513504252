#!/usr/bin/python3
"""Soak: one real node under 30 minutes of mixed load, killed -9 every few
minutes and restarted on the same database.

32 concurrent clients (tests/soak/soak_clients.py) import CSV sites as
datasets (steward), create and approve projects, submit aggregate queries and
wait for them, create and submit releases, read the activity log, make calls
the node must refuse (wrong role, no token, a bad token) and open and close
live streams (WatchEntries, WatchAnalysis); a separate process
(latency_probe.py) calls GetDataset in a loop throughout. Every 3 to 5
minutes (at random) the node is killed with SIGKILL and started again on the
same database and object store. Calls that fail while the node is down, or
that were in flight at the kill (unacknowledged: they may or may not have
happened), are counted, never treated as failures; any other failure is.

At the end, after a last kill and restart, the soak proves:

1. nothing acknowledged is lost: every project, analysis, release and dataset
   whose creating call returned OK exists at the node, and its creation is in
   the activity log (so are acknowledged project approvals, release
   submissions and refusals); and the node holds exactly what its log says
   was created;
2. the log verifies (`trectl log verify`, after every restart and at the end),
   trusting only the node's log key and consistent with the checkpoint the
   node last signed before each kill (its checkpoint copy file);
3. the node's memory and open file descriptors are flat: sampled every 10 s
   from /proc, the median of the last third of the longest lifetime is within
   50% + 20 MiB (RSS without file-backed pages: VmRSS - RssFile, since the
   database pages SQLite maps, up to 256 MiB, grow with the database) and 20
   (fds) of the median of its first third after warm-up; VmRSS is printed;
4. GetDataset's p99 latency, over the calls that did not fail in a
   kill/restart window, is under 50 ms.

It prints a figures block and exits non-zero if any of these fails.

usage: soak_test.py --bin-dir DIR --proto-dir DIR [--minutes 30]
"""
import argparse
import collections
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
from harness import Node  # noqa: E402

PROTOS = ["activity_log", "catalogue", "governance", "analyses", "releases", "query"]
DATASET = "synth-ehr-5"  # the base dataset: queries read it, the probe gets it
MIB = 1024 * 1024


def parse_args():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--bin-dir", required=True)
    parser.add_argument("--proto-dir", required=True)
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--kill-every", type=float, nargs=2, default=[180, 300],
                        metavar=("MIN", "MAX"), help="seconds between kills, drawn uniformly")
    parser.add_argument("--sample-seconds", type=float, default=10)
    parser.add_argument("--warmup-seconds", type=float, default=60,
                        help="samples this early in a node's lifetime are not compared")
    parser.add_argument("--think-ms", type=float, default=100,
                        help="mean pause between a client's calls")
    parser.add_argument("--p99-ms", type=float, default=50)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--keep", action="store_true", help="keep the node's directory")
    return parser.parse_args()


def generate_stubs(proto_dir, out):
    subprocess.run(["protoc", f"-I{proto_dir}", f"--python_out={out}", f"--grpc_python_out={out}",
                    "--plugin=protoc-gen-grpc_python=/usr/bin/grpc_python_plugin",
                    *[f"trenode/v1/{name}.proto" for name in PROTOS]], check=True)
    sys.path.insert(0, out)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class SoakNode(Node):
    """The test harness's node on a fixed port (so clients reconnect by
    themselves after a restart), its output in a file per lifetime."""

    def __init__(self, bin_dir, root, port):
        self.port = port
        self.lifetime = None  # (number, process, started at)
        self.start_seconds = []  # per start: from exec to serving
        super().__init__(bin_dir, root, start=False)

    def configure(self, oidc_block):
        super().configure(oidc_block)
        with open(self.config) as f:
            text = f.read().replace('"127.0.0.1:0"', f'"127.0.0.1:{self.port}"')
        with open(self.config, "w") as f:
            f.write(text)

    def start(self):
        number = self.lifetime[0] + 1 if self.lifetime else 1
        port_file = os.path.join(self.root, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        started = time.monotonic()
        with open(os.path.join(self.root, f"node-{number}.log"), "w") as output:
            self.process = subprocess.Popen(
                [os.path.join(self.bin_dir, "trenode"), "--config", self.config,
                 "--port-file", port_file], stdout=output, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 120
        while not os.path.exists(port_file):
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"trenode did not start: see node-{number}.log in {self.root}")
            time.sleep(0.02)
        self.address = f"127.0.0.1:{self.port}"
        self.lifetime = (number, self.process, time.monotonic())
        self.start_seconds.append(self.lifetime[2] - started)

    def kill9(self):
        self.process.kill()
        self.process.wait()

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        return self.process.wait(timeout=60), ""

    def sample(self):
        """The node's memory and open fds now, or None if it is down."""
        number, process, started = self.lifetime
        try:
            with open(f"/proc/{process.pid}/status") as f:
                status = dict(line.split(":", 1) for line in f)
            fds = len(os.listdir(f"/proc/{process.pid}/fd"))
        except OSError:
            return None
        if process.poll() is not None or "VmRSS" not in status:
            return None
        kib = lambda key: int(status[key].split()[0]) * 1024  # noqa: E731
        return Sample(number, time.monotonic() - started, kib("VmRSS"),
                      kib("VmRSS") - kib("RssFile"), fds)


# One sample of the node, in bytes: RSS (VmRSS), and RSS without file-backed
# pages (VmRSS - RssFile: the heap, without the pages of the database SQLite
# maps, up to its mmap_size of 256 MiB, which grow with the database and which
# the kernel may drop).
Sample = collections.namedtuple("Sample", "lifetime seconds rss anon fds")


class Soak:
    def __init__(self, args, root):
        import grpc
        import soak_clients
        self.args = args
        self.root = root
        self.seed = args.seed
        self.rng = random.Random(args.seed)
        self.think = args.think_ms / 1000
        self.stop = threading.Event()
        self.tally = soak_clients.Tally()
        self.node_state = soak_clients.NodeState()
        self.recent_analyses = collections.deque(maxlen=200)
        self.recent_datasets = collections.deque(maxlen=200)
        self.node = SoakNode(args.bin_dir, root, free_port())
        self.address = f"127.0.0.1:{self.node.port}"
        with open(self.node.ca, "rb") as f:
            self.credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        self.store = os.path.join(root, "verifier-state")
        self.dataset = DATASET
        self.samples = []
        self.machine_load = []  # the machine's 1-minute load average, at each sample
        self.verifications = []  # (after kill number, exit code, output, seconds)
        self.kills = 0

    # --- set-up ----------------------------------------------------------------

    def token(self, role, subject):
        ttl = str(int(self.args.minutes) + 60)
        return self.node.trectl_local(
            "token", "--issuer-key", os.path.join(self.node.pki, "dev-issuer.key"),
            "--issuer", self.node.ISSUER, "--subject", subject, "--roles", role,
            "--ttl-minutes", ttl)

    def synth(self, seed, persons):
        site = os.path.join(self.root, f"site-{seed}")
        subprocess.run([os.path.join(self.args.bin_dir, "trenode-synth"), "--seed", str(seed),
                        "--persons", str(persons), "--out", site],
                       check=True, capture_output=True)
        return site

    def trectl_ok(self, *args, token):
        code, out, err = self.node.trectl(*args, token=token)
        if code != 0:
            raise RuntimeError(f"set-up: trectl {' '.join(args)}: {err}")
        return out

    def set_up(self):
        """The base dataset and project, and every client's person: tokens,
        a project of their own where they need one, training."""
        import soak_clients
        self.node.start()
        people = [("sam", "data_steward"), ("ada", "researcher"), ("olu", "output_checker"),
                  ("audrey", "auditor")]
        for kind in soak_clients.MIX:
            for number in range(kind.count):
                people += [(soak_clients.subject_of(kind, number), role) for role in kind.roles]
        self.tokens = {(subject, role): self.token(role, subject) for subject, role in people}
        self.steward = self.tokens[("sam", "data_steward")]
        self.trectl_ok("dataset", "import", self.synth(5, 300), token=self.steward)
        self.create_project("soak-study", "ada", approve=True)
        for kind in soak_clients.MIX:
            for number in range(kind.count if kind.project else 0):
                self.create_project(soak_clients.project_of(kind, number),
                                    soak_clients.subject_of(kind, number),
                                    approve=kind.project == "approved")
        self.sites = [self.site_to_import(seed) for seed in (11, 12)]

    def create_project(self, project, researcher, approve):
        self.trectl_ok("project", "create", project, "--title", "Soak", "--lay-summary",
                       "Soak.", "--datasets", DATASET,
                       token=self.tokens[(researcher, "researcher")])
        if approve:
            self.trectl_ok("project", "approve", project, "--reference", "REC 1", "--expires",
                           "2099-01-01", "--datasets", DATASET, "--preapproved-query-kinds",
                           "counts", token=self.steward)
            self.trectl_ok("training", "record", f"{researcher}@py-node", "--course", "SRT",
                           "--completed", "2026-01-01", "--expires", "2099-01-01",
                           token=self.steward)

    def site_to_import(self, seed):
        """A small synthetic site and its catalogue metadata."""
        from google.protobuf import text_format
        import soak_clients
        site = self.synth(seed, 120)
        with open(os.path.join(site, "dataset.textproto")) as f:
            return site, text_format.Parse(f.read(), soak_clients.pb("catalogue").Dataset())

    # --- the run -----------------------------------------------------------------

    def run(self):
        import soak_clients
        self.started = time.monotonic()
        probe_out = os.path.join(self.root, "probe.txt")
        probe_stop = os.path.join(self.root, "probe.stop")
        self.probe = probe = subprocess.Popen([
            sys.executable, os.path.join(HERE, "latency_probe.py"), "--stubs", self.stubs,
            "--address", self.address, "--ca", self.node.ca,
            "--token", self.tokens[("ada", "researcher")], "--dataset", DATASET, "--out", probe_out,
            "--stop-file", probe_stop])
        sampler = threading.Thread(target=self.sample_loop, name="sampler")
        sampler.start()
        clients = soak_clients.start_clients(self)
        end = self.started + self.args.minutes * 60
        while True:
            next_kill = time.monotonic() + self.rng.uniform(*self.args.kill_every)
            if next_kill >= end:
                break
            time.sleep(next_kill - time.monotonic())
            self.kill_and_restart()
            self.verify_log()
        time.sleep(max(0, end - time.monotonic()))
        self.ran = time.monotonic() - self.started
        # The last kill, under load; then the clients stop and the node comes back.
        self.node_state.going_down()
        self.node.kill9()
        self.kills += 1
        self.stop.set()
        for client in clients:
            client.join()
        self.save_checkpoint()
        self.node.start()
        self.node_state.came_up()
        open(probe_stop, "w").close()
        probe.wait(timeout=60)
        sampler.join()
        self.probe_out = probe_out

    def sample_loop(self):
        while not self.stop.wait(self.args.sample_seconds):
            sample = self.node.sample()
            if sample:
                self.samples.append(sample)
            with open("/proc/loadavg") as f:
                self.machine_load.append(float(f.read().split()[0]))

    def kill_and_restart(self):
        self.node_state.going_down()
        self.node.kill9()
        self.kills += 1
        self.save_checkpoint()
        self.node.start()
        self.node_state.came_up()
        print(f"[{self.elapsed()}] kill -9 #{self.kills}; restarted; "
              f"{self.tally_line()}", file=sys.stderr, flush=True)

    def elapsed(self):
        seconds = int(time.monotonic() - self.started)
        return f"{seconds // 60:02d}:{seconds % 60:02d}"

    def tally_line(self):
        with self.tally.lock:
            totals = collections.Counter()
            for outcomes in self.tally.counts.values():
                totals.update(outcomes)
        return ", ".join(f"{k} {v}" for k, v in sorted(totals.items()))

    def save_checkpoint(self):
        """The last checkpoint the node signed before the kill, as it kept it
        outside its database: the verifier's trusted store."""
        copy = self.node.database + ".checkpoint"
        if os.path.exists(copy):
            os.makedirs(self.store, exist_ok=True)
            shutil.copyfile(copy, os.path.join(self.store, "checkpoint"))

    def verify_log(self):
        started = time.monotonic()
        code, out, err = self.node.trectl("log", "verify", "--log-key", self.node.log_pub,
                                          "--checkpoint-store", self.store,
                                          token=self.tokens[("audrey", "auditor")])
        self.verifications.append((self.kills, code, (out if code == 0 else err).strip(),
                                   time.monotonic() - started))
        return code, out, err

    # --- 1. nothing acknowledged is lost -------------------------------------------

    def listed(self, method, request, field, token):
        """Every item of a paged listing, by id."""
        import soak_clients
        items, page = {}, ""
        while True:
            request.page_size, request.page_token = 500, page
            response = method(request, metadata=soak_clients.bearer(token), timeout=120)
            items.update((item.id, item) for item in getattr(response, field))
            page = response.next_page_token
            if not page:
                return items

    def read_log(self, channel):
        """The whole activity log, page by page, into a LogSummary."""
        import soak_clients
        from soak_clients import bearer, pb
        log = soak_clients.stub("activity_log", "ActivityLog", channel)
        auditor = bearer(self.tokens[("audrey", "auditor")])
        size = log.GetCheckpoint(pb("activity_log").GetCheckpointRequest(), metadata=auditor,
                                 timeout=60).size
        summary = LogSummary()
        while summary.size < size:
            before = summary.size
            for entry in log.GetEntries(pb("activity_log").GetEntriesRequest(start=before),
                                        metadata=auditor, timeout=300):
                summary.add(entry.leaf.decode())
            if summary.size == before:
                raise RuntimeError(f"GetEntries from {before} returned nothing")
        return summary

    def check_nothing_lost(self):
        """Failures, and the counts for the figures."""
        import soak_clients
        from soak_clients import pb
        channel = self.node.channel()
        stub = lambda name, service: soak_clients.stub(name, service, channel)  # noqa: E731
        held = {
            "project": self.listed(stub("governance", "Governance").ListProjects,
                                   pb("governance").ListProjectsRequest(), "projects",
                                   self.steward),
            "analysis": self.listed(stub("analyses", "Analyses").ListAnalyses,
                                    pb("analyses").ListAnalysesRequest(), "analyses",
                                    self.tokens[("olu", "output_checker")]),
            "release": self.listed(stub("releases", "Releases").ListReleases,
                                   pb("releases").ListReleasesRequest(), "releases",
                                   self.tokens[("olu", "output_checker")]),
            "dataset": self.listed(stub("catalogue", "Catalogue").ListDatasets,
                                   pb("catalogue").ListDatasetsRequest(include_retired=True),
                                   "datasets", self.steward),
        }
        log = self.read_log(channel)
        channel.close()
        self.log_size = log.size
        creations = {"project": "governance.project.create", "analysis": "analysis.submit",
                     "release": "release.create", "dataset": "catalogue.dataset.register"}
        failures = []
        acknowledged = self.tally.acknowledged
        for kind, action in creations.items():
            logged = log.created(action, kind + "/")
            lost = acknowledged[kind] - set(held[kind])
            unlogged = acknowledged[kind] - logged
            if lost:
                failures.append(f"{len(lost)} acknowledged {kind}s missing at the node, "
                                f"e.g. {sorted(lost)[:5]}")
            if unlogged:
                failures.append(f"{len(unlogged)} acknowledged {kind}s without {action} in the "
                                f"log, e.g. {sorted(unlogged)[:5]}")
            if set(held[kind]) != logged:
                failures.append(f"{kind}s at the node and created in the log differ: "
                                f"{sorted(set(held[kind]) ^ logged)[:5]}")
        self.unacknowledged_happened = {
            kind: (len(ids), len(ids & set(held[kind])))
            for kind, ids in self.tally.unacknowledged.items()}
        projects, releases = held["project"], held["release"]
        approved = pb("governance").PROJECT_STATE_APPROVED
        for project_id in acknowledged["project.approve"]:
            if project_id not in projects or projects[project_id].state != approved:
                failures.append(f"acknowledged approval of project {project_id} lost")
        failures += log.missing(acknowledged["project.approve"], "governance.project.approve",
                                "project/")
        draft = pb("releases").RELEASE_STATE_DRAFT
        for release_id in acknowledged["release.submit"]:
            if release_id not in releases or releases[release_id].state == draft:
                failures.append(f"acknowledged submission of release {release_id} lost")
        failures += log.missing(acknowledged["release.submit"], "release.submit", "release/")
        if log.denials < self.tally.denials:
            failures.append(f"{self.tally.denials} acknowledged refusals (PERMISSION_DENIED) "
                            f"but {log.denials} auth.deny entries")
        self.logged_denials = log.denials
        self.recovered = log.recovered
        return failures

    # --- 2. the log verifies -------------------------------------------------------

    def check_log_verifies(self):
        self.verify_log()
        failures = []
        for kills, code, line, _ in self.verifications:
            if code != 0:
                failures.append(f"trectl log verify after kill {kills}: exit {code}: {line}")
            elif "consistent with the saved checkpoint" not in line:
                failures.append(f"trectl log verify after kill {kills} compared no saved "
                                f"checkpoint: {line}")
        return failures

    # --- 3. memory and file descriptors are flat -------------------------------------

    def check_flat(self):
        lifetimes = collections.defaultdict(list)
        for sample in self.samples:
            if sample.seconds >= self.args.warmup_seconds:
                lifetimes[sample.lifetime].append(sample)
        self.lifetime_summary = {n: summarise(s) for n, s in sorted(lifetimes.items())}
        if not lifetimes:
            return ["no samples of the node after warm-up"]
        number, samples = max(lifetimes.items(), key=lambda item: len(item[1]))
        if len(samples) < 6:
            return [f"the longest lifetime (#{number}) has only {len(samples)} samples after "
                    f"warm-up; run longer"]
        third = len(samples) // 3
        thirds = {field: (statistics.median(getattr(s, field) for s in samples[:third]),
                          statistics.median(getattr(s, field) for s in samples[-third:]))
                  for field in ("rss", "anon", "fds")}
        self.flat = (number, len(samples), thirds)
        anon, fds = thirds["anon"], thirds["fds"]
        failures = []
        if anon[1] > anon[0] * 1.5 + 20 * MIB:
            failures.append(f"anon RSS (VmRSS - RssFile) grew from {anon[0] / MIB:.1f} to "
                            f"{anon[1] / MIB:.1f} MiB in lifetime #{number}")
        if fds[1] - fds[0] > 20:
            failures.append(f"open fds grew from {fds[0]} to {fds[1]} in lifetime #{number}")
        return failures

    # --- 4. GetDataset latency --------------------------------------------------------

    def check_latency(self):
        ok, restart, other = [], 0, collections.Counter()
        self.p99_by_5_minutes = collections.defaultdict(list)
        with open(self.probe_out) as f:
            for line in f:
                start, seconds, code = line.split()
                start, seconds = float(start), float(seconds)
                if code == "OK":
                    ok.append(seconds)
                    self.p99_by_5_minutes[int((start - self.started) // 300)].append(seconds)
                elif self.node_state.during_restart(start, start + seconds):
                    restart += 1
                else:
                    other[code] += 1
        ok.sort()
        self.latency = (len(ok), restart, other, ok)
        if len(ok) < 100:
            return [f"only {len(ok)} GetDataset calls succeeded"]
        failures = []
        if percentile(ok, 99) * 1000 >= self.args.p99_ms:
            failures.append(f"GetDataset p99 {percentile(ok, 99) * 1000:.1f} ms >= "
                            f"{self.args.p99_ms:g} ms")
        if other:
            failures.append(f"GetDataset failed outside restarts: {dict(other)}")
        return failures

    def check(self):
        failures = []
        for name, check in (("nothing acknowledged lost", self.check_nothing_lost),
                            ("log verifies", self.check_log_verifies),
                            ("memory and fds flat", self.check_flat),
                            ("GetDataset p99", self.check_latency)):
            try:
                found = check()
            except Exception as error:  # a check that cannot run fails
                found = [f"could not check: {error!r}"]
            failures += [f"{name}: {failure}" for failure in found]
        grouped = collections.Counter(self.tally.unexpected)
        for (kind, detail), n in grouped.most_common(20):
            failures.append(f"{n} x unexpected failure of {kind}: {detail}")
        if len(grouped) > 20:
            failures.append(f"... and {len(grouped) - 20} more kinds of unexpected failure")
        return failures

    # --- the figures ----------------------------------------------------------------

    def figures(self, failures):
        import soak_clients
        a = self.args
        clients = sum(kind.count for kind in soak_clients.MIX)
        lines = ["===== trenode soak figures =====",
                 f"run: {self.ran / 60:.1f} min, {clients} clients + 1 GetDataset probe, "
                 f"think time {a.think_ms:g} ms mean; kill -9 + restart: {self.kills} (every "
                 f"{a.kill_every[0]:g}-{a.kill_every[1]:g} s, the last after the load)",
                 f"machine: {os.cpu_count()} CPUs, load average during the run mean "
                 f"{statistics.mean(self.machine_load or [0]):.1f}, max "
                 f"{max(self.machine_load or [0]):.1f}",
                 f"{'calls':<38}{'ok':>9}{'refused':>9}{'restart':>9}{'failed':>8}"
                 f"  p50/p99 ms, first 5 min | last 5 min"]
        totals = collections.Counter()
        for kind, outcomes in sorted(self.tally.counts.items()):
            totals.update(outcomes)
            lines.append(f"  {kind:<36}{outcomes['ok']:>9}{outcomes['refused']:>9}"
                         f"{outcomes['restart']:>9}{outcomes['unexpected']:>8}  "
                         f"{self.latency_trend(self.tally.durations[kind])}")
        lines.append(f"  {'all':<36}{totals['ok']:>9}{totals['refused']:>9}"
                     f"{totals['restart']:>9}{totals['unexpected']:>8}")
        lines.append("  (restart: failed while the node was down or in flight at a kill; "
                     "failed: anything else)")
        ack = self.tally.acknowledged
        lines.append(f"acknowledged: {len(ack['project'])} projects ({len(ack['project.approve'])}"
                     f" approved), {len(ack['analysis'])} analyses, {len(ack['release'])} "
                     f"releases ({len(ack['release.submit'])} submitted), {len(ack['dataset'])} "
                     f"datasets, {self.tally.denials} refusals; auth.deny entries "
                     f"{getattr(self, 'logged_denials', '?')}")
        if getattr(self, "unacknowledged_happened", None):
            lines.append("in flight at a kill (unacknowledged), and of those done: " + ", ".join(
                f"{n} {kind} creations, {done} done"
                for kind, (n, done) in sorted(self.unacknowledged_happened.items())))
        if hasattr(self, "log_size"):
            lines.append(f"activity log: {self.log_size} entries; changes recovered from the "
                         f"outbox at each start: {self.recovered}")
        if self.verifications:
            lines.append(f"log verify: {sum(1 for v in self.verifications if v[1] == 0)}/"
                         f"{len(self.verifications)} passed (slowest "
                         f"{max(v[3] for v in self.verifications):.1f} s); last: "
                         f"{self.verifications[-1][2]}")
        starts = self.node.start_seconds[1:]  # after a kill, not the first
        if starts:
            lines.append(f"node start after kill -9 (exec to serving): mean "
                         f"{statistics.mean(starts):.2f} s, max {max(starts):.2f} s")
        lines += self.preparation_figures()
        lines += self.memory_figures()
        if hasattr(self, "latency"):
            count, restart, other, ok = self.latency
            if ok:
                lines.append(f"GetDataset: {count} ok, {restart} failed during restarts, "
                             f"{sum(other.values())} failed otherwise; p50 "
                             f"{percentile(ok, 50) * 1000:.2f} ms, p99 "
                             f"{percentile(ok, 99) * 1000:.2f} ms, max {ok[-1] * 1000:.1f} ms")
                lines.append("GetDataset p99 per 5 minutes, ms: " + ", ".join(
                    f"{percentile(sorted(v), 99) * 1000:.1f}"
                    for _, v in sorted(self.p99_by_5_minutes.items())))
        lines.append("result: " + ("PASS" if not failures else "FAIL"))
        lines += [f"  FAIL {failure}" for failure in failures]
        lines.append("================================")
        return "\n".join(lines)

    def latency_trend(self, durations):
        """p50/p99 of the answered calls in the run's first and last 5 minutes."""
        def p50_p99(seconds):
            if not seconds:
                return "-"
            seconds.sort()
            return f"{percentile(seconds, 50) * 1000:.0f}/{percentile(seconds, 99) * 1000:.0f}"
        early = [s for t, s in durations if t - self.started < 300]
        late = [s for t, s in durations if t - self.started >= self.ran - 300]
        return f"{p50_p99(early)} | {p50_p99(late)}"

    def preparation_figures(self):
        """How long releases took to prepare, early in the run and late."""
        preparations = self.tally.preparations
        if not preparations:
            return []
        early = [s for t, s in preparations if t - self.started < 300]
        late = [s for t, s in preparations if t - self.started >= self.ran - 300]
        median = lambda values: statistics.median(values) if values else 0  # noqa: E731
        return [f"release preparation (CreateRelease to draft): median {median(early):.2f} s "
                f"in the first 5 min, {median(late):.2f} s in the last 5 min; max "
                f"{max(s for _, s in preparations):.2f} s"]

    def memory_figures(self):
        if not self.samples:
            return ["node samples: none"]
        first, last = self.samples[0], self.samples[-1]
        lines = [f"node RSS first {first.rss / MIB:.1f} MiB, last {last.rss / MIB:.1f} MiB "
                 f"(anon {first.anon / MIB:.1f} -> {last.anon / MIB:.1f}); fds first "
                 f"{first.fds}, last {last.fds} ({len(self.samples)} samples every "
                 f"{self.args.sample_seconds:g} s, warm-up {self.args.warmup_seconds:g} s; "
                 f"anon: VmRSS - RssFile, what is checked)"]
        for number, summary in getattr(self, "lifetime_summary", {}).items():
            lines.append(f"  lifetime #{number}: {summary}")
        if hasattr(self, "flat"):
            number, n, thirds = self.flat
            (rss0, rss1), (anon0, anon1), (fds0, fds1) = (thirds[f] for f in ("rss", "anon",
                                                                                "fds"))
            lines.append(f"  longest, #{number} ({n} samples), medians of first -> last third: "
                         f"RSS {rss0 / MIB:.1f} -> {rss1 / MIB:.1f} MiB (anon "
                         f"{anon0 / MIB:.1f} -> {anon1 / MIB:.1f}); fds {fds0:g} -> {fds1:g}")
        return lines


class LogSummary:
    """What the final checks need from the activity log, gathered entry by
    entry (the log of a 30-minute soak is too big to keep parsed)."""
    CHANGES = ("governance.project.create", "governance.project.approve", "analysis.submit",
               "release.create", "release.submit", "catalogue.dataset.register")

    def __init__(self):
        self.size = 0
        self.objects = collections.defaultdict(set)  # action -> objects, outcome success
        self.denials = 0  # auth.deny of the refusing clients (mallory-N)
        self.recovered = []  # per node.start: changes appended from the outbox

    def add(self, leaf):
        fields = dict(line.partition(" ")[::2] for line in leaf.split("\n")[1:] if line)
        self.size += 1
        action = fields["action"]
        if action in self.CHANGES and fields["outcome"] == "success":
            self.objects[action].add(fields["object"])
        elif action == "auth.deny" and fields["actor"].startswith("mallory-"):
            self.denials += 1
        elif action == "node.start":
            marker = "appended the records of "
            reason = fields["reason"]
            self.recovered.append(int(reason.split(marker)[1].split()[0])
                                  if marker in reason else 0)

    def created(self, action, prefix):
        """Ids of the objects `action` was recorded for."""
        return {o[len(prefix):] for o in self.objects[action] if o.startswith(prefix)}

    def missing(self, ids, action, prefix):
        missing = set(ids) - self.created(action, prefix)
        return [f"{len(missing)} acknowledged {action} without a record, e.g. "
                f"{sorted(missing)[:5]}"] if missing else []


def summarise(samples):
    rss = [s.rss / MIB for s in samples]
    anon = [s.anon / MIB for s in samples]
    fds = [s.fds for s in samples]
    return (f"{len(samples)} samples after warm-up, RSS MiB first {rss[0]:.1f} median "
            f"{statistics.median(rss):.1f} last {rss[-1]:.1f} max {max(rss):.1f} (anon "
            f"{anon[0]:.1f} .. {anon[-1]:.1f}); fds first {fds[0]} median "
            f"{statistics.median(fds):g} last {fds[-1]} max {max(fds)}")


def percentile(ordered, p):
    return ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))]


def main():
    args = parse_args()
    root = tempfile.mkdtemp(prefix="trenode-soak-")
    stubs = os.path.join(root, "stubs")
    os.makedirs(stubs)
    generate_stubs(args.proto_dir, stubs)
    soak = Soak(args, root)
    soak.stubs = stubs
    try:
        soak.set_up()
        soak.run()
        failures = soak.check()
    finally:
        soak.stop.set()
        if getattr(soak, "probe", None) and soak.probe.poll() is None:
            soak.probe.kill()
        if soak.node.process and soak.node.process.poll() is None:
            soak.node.stop()
    print(soak.figures(failures), flush=True)
    if failures or args.keep:
        print(f"node directory kept: {root}", file=sys.stderr)
    else:
        shutil.rmtree(root)
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
