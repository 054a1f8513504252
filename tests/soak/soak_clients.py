"""The soak test's load: 32 client threads, each with its own TLS connection,
making one kind of mixed call in a loop with a random think time.

Every call goes through Client.call, which files its outcome in the Tally:
- ok: the node answered as expected (for a refusal probe, the refusal);
- restart: it failed while it overlapped a kill/restart window (the node was
  down, or the call was in flight at the kill: "unacknowledged");
- unexpected: anything else, a failure of the soak.
What an OK answer created is kept in Tally.acknowledged, for the final check
that none of it was lost.
"""
import collections
import importlib
import os
import random
import threading
import time

import grpc

RESTART_GRACE = 3.0  # seconds after the node is up in which clients may still be reconnecting
CHUNK = 64 * 1024
QUERY = ('outputs {{ name: "by_{0}" counts {{ group_by {{ variable {{ column: "{0}" }} }} }} }}')
QUERY_COLUMNS = ("sex", "region")
INTERRUPTED = "interrupted by a node restart while running"
FINAL_ANALYSIS_STATES = ("ANALYSIS_STATE_SUCCEEDED", "ANALYSIS_STATE_FAILED",
                         "ANALYSIS_STATE_CANCELLED", "ANALYSIS_STATE_REJECTED")


def pb(name):
    return importlib.import_module(f"trenode.v1.{name}_pb2")


def stub(name, service, channel):
    module = importlib.import_module(f"trenode.v1.{name}_pb2_grpc")
    return getattr(module, service + "Stub")(channel)


def bearer(token):
    return (("authorization", "Bearer " + token),) if token else ()


class NodeState:
    """When the node was down: [killed, up] windows on the monotonic clock."""

    def __init__(self):
        self.lock = threading.Lock()
        self.windows = []
        self.up = threading.Event()
        self.up.set()

    def going_down(self):
        with self.lock:
            self.windows.append([time.monotonic(), None])
            self.up.clear()

    def came_up(self):
        with self.lock:
            self.windows[-1][1] = time.monotonic()
            self.up.set()

    def during_restart(self, start, end):
        """Whether [start, end] overlaps a window (plus the reconnect grace)."""
        with self.lock:
            return any(start <= (up if up is not None else float("inf")) + RESTART_GRACE
                       and end >= killed for killed, up in self.windows)

    def wait_up(self, stop):
        while not self.up.wait(0.2) and not stop.is_set():
            pass


class Tally:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = collections.defaultdict(collections.Counter)  # kind -> outcome -> n
        self.unexpected = []  # (kind, detail)
        self.acknowledged = collections.defaultdict(set)  # what -> ids
        self.unacknowledged = collections.defaultdict(set)  # created in flight at a kill
        self.denials = 0  # PERMISSION_DENIED answers: each must be an auth.deny entry
        self.preparations = []  # (CreateRelease called, seconds until the release was a draft)
        self.durations = collections.defaultdict(list)  # kind -> (started, seconds) answered

    def count(self, kind, outcome, detail=None):
        with self.lock:
            self.counts[kind][outcome] += 1
            if outcome == "unexpected":
                self.unexpected.append((kind, detail))

    def answered(self, kind, started, seconds):
        with self.lock:
            self.durations[kind].append((started, seconds))

    def acknowledge(self, what, object_id):
        with self.lock:
            self.acknowledged[what].add(object_id)

    def unacknowledge(self, what, object_id):
        with self.lock:
            self.unacknowledged[what].add(object_id)

    def denied(self):
        with self.lock:
            self.denials += 1


class Client:
    """One simulated client: its own channel (own TCP/TLS connection), stubs
    and random generator."""

    def __init__(self, soak, kind, number, seed):
        self.soak = soak
        self.subject = subject_of(kind, number)
        self.project = project_of(kind, number) if kind.project else None
        self.rng = random.Random(seed)
        self.last = None  # outcome of the last call
        self.channel = grpc.secure_channel(soak.address, soak.credentials, options=[
            ("grpc.use_local_subchannel_pool", 1),
            ("grpc.initial_reconnect_backoff_ms", 100), ("grpc.max_reconnect_backoff_ms", 500)])
        self.catalogue = stub("catalogue", "Catalogue", self.channel)
        self.governance = stub("governance", "Governance", self.channel)
        self.analyses = stub("analyses", "Analyses", self.channel)
        self.releases = stub("releases", "Releases", self.channel)
        self.log = stub("activity_log", "ActivityLog", self.channel)

    def token(self, role):
        return self.soak.tokens[(self.subject, role)]

    def reconnect(self, seconds):
        """Asks the channel to connect now: after a failed connection, grpcio
        (1.51) otherwise fails calls for up to ~20 s though the node is back."""
        try:
            grpc.channel_ready_future(self.channel).result(timeout=seconds)
        except grpc.FutureTimeoutError:
            pass

    @property
    def stopped(self):
        return self.soak.stop.is_set()

    def think(self, scale=1.0):
        self.soak.stop.wait(self.rng.uniform(0, 2 * self.soak.think * scale))

    def call(self, kind, thunk, refusal=None):
        """Runs thunk() (one RPC, streams read in full); returns its result on
        success, None otherwise, and sets self.last to the outcome. With
        `refusal` (a status code), that refusal is the expected answer."""
        start = time.monotonic()
        try:
            result = thunk()
        except grpc.RpcError as error:
            if refusal is not None and error.code() == refusal:
                self.last = "ok"
                self.soak.tally.count(kind, "refused")
                self.soak.tally.answered(kind, start, time.monotonic() - start)
                return error
            if self.soak.node_state.during_restart(start, time.monotonic()):
                self.last = "restart"
                self.soak.tally.count(kind, "restart")
                self.soak.node_state.wait_up(self.soak.stop)
                if not self.stopped:
                    self.reconnect(5)
                return None
            self.last = "unexpected"
            self.soak.tally.count(kind, "unexpected",
                                  f"{error.code().name}: {error.details()}")
            return None
        if refusal is not None:
            self.last = "unexpected"
            self.soak.tally.count(kind, "unexpected", f"succeeded; expected {refusal.name}")
            return None
        self.last = "ok"
        self.soak.tally.count(kind, "ok")
        self.soak.tally.answered(kind, start, time.monotonic() - start)
        return result

    def fail(self, kind, detail):
        """An answer that was OK at the transport but wrong."""
        self.soak.tally.count(kind, "unexpected", detail)

    # --- shared steps ----------------------------------------------------------

    def submit_query(self, request_id):
        """Submits an aggregate query, retrying after a restart with the same
        request id (SubmitAnalysis is idempotent on it); returns its id."""
        from google.protobuf import text_format
        request = pb("analyses").SubmitAnalysisRequest(project_id=self.project,
                                                       request_id=request_id)
        text_format.Parse(QUERY.format(self.rng.choice(QUERY_COLUMNS)), request.query)
        request.query.dataset_id = self.soak.dataset
        while not self.stopped:
            analysis = self.call("SubmitAnalysis", lambda: self.analyses.SubmitAnalysis(
                request, metadata=bearer(self.token("researcher")), timeout=30))
            if analysis is not None:
                self.soak.tally.acknowledge("analysis", analysis.id)
                self.soak.recent_analyses.append(analysis.id)
                return analysis.id
            if self.last != "restart":
                return None
        return None

    def run_query(self, request_id):
        """Submits a query and waits for it; files its result as "query
        result": ok if it succeeded, restart if a kill interrupted it while
        it ran (spec/analyses.md, "Restart"). Returns the analysis id if it
        succeeded."""
        started = time.monotonic()
        analysis_id = self.submit_query(request_id)
        final = self.wait_for(analysis_id) if analysis_id else None
        if final is None:
            return None
        state, reason = final
        if state == "ANALYSIS_STATE_SUCCEEDED":
            self.soak.tally.count("query result", "ok")
            return analysis_id
        if (state == "ANALYSIS_STATE_FAILED" and reason.startswith(INTERRUPTED)
                and self.soak.node_state.during_restart(started, time.monotonic())):
            self.soak.tally.count("query result", "restart")
        else:
            self.fail("query result", f"{analysis_id} ended {state}: {reason}")
        return None

    def wait_for(self, analysis_id):
        """Follows WatchAnalysis to the analysis's final state (again from the
        start after a restart); returns (state name, reason), or None."""
        request = pb("analyses").WatchAnalysisRequest(analysis_id=analysis_id)
        states = pb("analyses").AnalysisState
        while not self.stopped:
            events = self.call("WatchAnalysis(wait)", lambda: list(self.analyses.WatchAnalysis(
                request, metadata=bearer(self.token("researcher")), timeout=300)))
            if events == []:
                self.fail("WatchAnalysis(wait)", f"no events for {analysis_id}")
                return None
            if events:
                final = states.Name(events[-1].state)
                if final not in FINAL_ANALYSIS_STATES:
                    self.fail("WatchAnalysis(wait)", f"stream of {analysis_id} ended at {final}")
                    return None
                return final, events[-1].reason
            if self.last != "restart":
                return None
        return None

    def wait_prepared(self, release, created):
        """Polls GetRelease while the node builds the release's files
        (spec/releases.md: CreateRelease answers "preparing" if they take
        over 2 s); True once it is a draft. Keeps how long that took."""
        releases = pb("releases")
        request = releases.ReleaseIdRequest(release_id=release.id)
        deadline = time.monotonic() + 300
        while release.state == releases.RELEASE_STATE_PREPARING:
            if self.stopped:
                return False
            if time.monotonic() > deadline:
                self.fail("release preparation", f"{release.id} still preparing after 300 s")
                return False
            time.sleep(0.25)
            release = self.call("GetRelease(preparing)", lambda: self.releases.GetRelease(
                request, metadata=bearer(self.token("researcher")), timeout=30)) or release
        with self.soak.tally.lock:
            self.soak.tally.preparations.append((created, time.monotonic() - created))
        if release.state != releases.RELEASE_STATE_DRAFT:
            self.fail("release preparation", f"{release.id} became "
                      f"{releases.ReleaseState.Name(release.state)}: {release.state_reason}")
            return False
        return True

    def checkpoint_size(self):
        checkpoint = self.call("GetCheckpoint", lambda: self.log.GetCheckpoint(
            pb("activity_log").GetCheckpointRequest(),
            metadata=bearer(self.token("auditor")), timeout=30))
        return checkpoint.size if checkpoint is not None else None


# --- the kinds of client ------------------------------------------------------

def importer(c, worker):
    """A steward importing small CSV sites as new datasets."""
    n = 0
    while not c.stopped:
        dataset_id = f"soak-{worker}-{n}"
        n += 1
        site, metadata = c.rng.choice(c.soak.sites)
        header = pb("catalogue").ImportDatasetHeader(dataset=metadata)
        header.dataset.id = dataset_id
        header.dataset.title = f"Soak import {dataset_id}"
        dataset = c.call("ImportDataset", lambda: c.catalogue.ImportDataset(
            import_requests(header, site), metadata=bearer(c.token("data_steward")),
            timeout=120))
        if dataset is not None:
            c.soak.tally.acknowledge("dataset", dataset.id)
            c.soak.recent_datasets.append(dataset.id)
        elif c.last == "restart":
            c.soak.tally.unacknowledge("dataset", dataset_id)
        c.think(scale=10)


def import_requests(header, site):
    yield pb("catalogue").ImportDatasetRequest(header=header)
    for name in sorted(os.listdir(site)):
        if not name.endswith(".csv"):
            continue
        with open(os.path.join(site, name), "rb") as f:
            while True:
                data = f.read(CHUNK)
                if not data:
                    break
                yield pb("catalogue").ImportDatasetRequest(
                    chunk=pb("catalogue").ImportFileChunk(file_name=name, data=data))


def project_creator(c, worker):
    """A researcher proposing projects; a steward approves every third."""
    from google.protobuf import timestamp_pb2
    governance = pb("governance")
    n = 0
    while not c.stopped:
        project = governance.Project(id=f"p-{worker}-{n}", title="Soak", lay_summary="Load.",
                                     requested_dataset_ids=[c.soak.dataset])
        created = c.call("CreateProject", lambda: c.governance.CreateProject(
            governance.CreateProjectRequest(project=project),
            metadata=bearer(c.token("researcher")), timeout=30))
        if created is not None:
            c.soak.tally.acknowledge("project", project.id)
            if n % 3 == 0:
                request = governance.ApproveProjectRequest(
                    project_id=project.id, reference="REC soak", dataset_ids=[c.soak.dataset],
                    expires=timestamp_pb2.Timestamp(seconds=4070908800),
                    preapproved_query_kinds=[pb("query").OUTPUT_KIND_COUNTS])
                if c.call("ApproveProject", lambda: c.governance.ApproveProject(
                        request, metadata=bearer(c.soak.steward), timeout=30)):
                    c.soak.tally.acknowledge("project.approve", project.id)
        elif c.last == "restart":
            c.soak.tally.unacknowledge("project", project.id)
        n += 1
        c.think()


def querier(c, worker):
    """A researcher submitting aggregate queries and waiting for each."""
    n = 0
    while not c.stopped:
        c.run_query(f"q-{worker}-{n}")
        n += 1
        c.think()


def releaser(c, worker):
    """A researcher releasing the outputs of a query: query, wait, create the
    release, submit it."""
    releases = pb("releases")
    n = 0
    while not c.stopped:
        analysis_id = c.run_query(f"r-{worker}-{n}")
        n += 1
        if analysis_id is None:
            continue
        created = time.monotonic()
        release = c.call("CreateRelease", lambda: c.releases.CreateRelease(
            releases.CreateReleaseRequest(analysis_id=analysis_id),
            metadata=bearer(c.token("researcher")), timeout=30))
        if release is None:
            continue
        c.soak.tally.acknowledge("release", release.id)
        if not c.wait_prepared(release, created):
            continue
        if c.call("SubmitRelease", lambda: c.releases.SubmitRelease(
                releases.ReleaseIdRequest(release_id=release.id),
                metadata=bearer(c.token("researcher")), timeout=60)):
            c.soak.tally.acknowledge("release.submit", release.id)
        c.think()


def log_reader(c, worker):
    """An auditor reading pages of the activity log; a researcher reading
    their project's events."""
    log = pb("activity_log")
    while not c.stopped:
        size = c.checkpoint_size()
        if size:
            start = c.rng.randrange(size)
            end = min(size, start + 500)
            entries = c.call("GetEntries", lambda: list(c.log.GetEntries(
                log.GetEntriesRequest(start=start, end=end),
                metadata=bearer(c.token("auditor")), timeout=60)))
            if entries is not None and [e.index for e in entries] != list(range(start, end)):
                c.fail("GetEntries", f"[{start}, {end}) returned {len(entries)} entries")
        if c.call("GetEntries(project)", lambda: list(c.log.GetEntries(
                log.GetEntriesRequest(project=c.project),
                metadata=bearer(c.token("researcher")), timeout=60))) == []:
            c.fail("GetEntries(project)", "no events of the researcher's own project")
        c.think()


def refuser(c, worker):
    """Calls the node must refuse: a wrong role (each recorded as auth.deny),
    no token, a token that is not a JWT."""
    denied = grpc.StatusCode.PERMISSION_DENIED
    unauthenticated = grpc.StatusCode.UNAUTHENTICATED
    mallory = {role: c.token(role) for role in ("researcher", "auditor", "output_checker")}
    catalogue, governance, analyses, log = (pb("catalogue"), pb("governance"), pb("analyses"),
                                            pb("activity_log"))
    probes = [
        ("RetireDataset as researcher", denied, lambda: c.catalogue.RetireDataset(
            catalogue.RetireDatasetRequest(id=c.soak.dataset, reason="soak"),
            metadata=bearer(mallory["researcher"]), timeout=30)),
        ("CreateProject as auditor", denied, lambda: c.governance.CreateProject(
            governance.CreateProjectRequest(project=governance.Project(id="mallory-x", title="x")),
            metadata=bearer(mallory["auditor"]), timeout=30)),
        ("SubmitAnalysis as output_checker", denied, lambda: c.analyses.SubmitAnalysis(
            analyses.SubmitAnalysisRequest(project_id=c.project or "soak-x", request_id="x"),
            metadata=bearer(mallory["output_checker"]), timeout=30)),
        ("GetEntries as researcher, no project", denied, lambda: list(c.log.GetEntries(
            log.GetEntriesRequest(), metadata=bearer(mallory["researcher"]), timeout=30))),
        ("GetDataset without token", unauthenticated, lambda: c.catalogue.GetDataset(
            catalogue.GetDatasetRequest(id=c.soak.dataset), timeout=30)),
        ("ListDatasets with a bad token", unauthenticated, lambda: c.catalogue.ListDatasets(
            catalogue.ListDatasetsRequest(), metadata=bearer("not-a-jwt"), timeout=30)),
    ]
    while not c.stopped:
        kind, code, thunk = c.rng.choice(probes)
        if c.call(kind, thunk, refusal=code) is not None and code == denied:
            c.soak.tally.denied()
        c.think()


def streamer(c, worker):
    """Opens live streams and closes them: WatchEntries from near the log's
    end, WatchAnalysis on a recent analysis."""
    log, analyses = pb("activity_log"), pb("analyses")
    while not c.stopped:
        if c.rng.random() < 0.5:
            size = c.checkpoint_size()
            if size and size > 20:
                got = c.call("WatchEntries", lambda: read_some(c.log.WatchEntries(
                    log.WatchEntriesRequest(start=size - 20),
                    metadata=bearer(c.token("auditor")), timeout=30), 20))
                if got is not None and got != 20:
                    c.fail("WatchEntries", f"{got} entries, not 20")
        elif c.soak.recent_analyses:
            analysis_id = c.rng.choice(list(c.soak.recent_analyses))
            c.call("WatchAnalysis", lambda: read_some(c.analyses.WatchAnalysis(
                analyses.WatchAnalysisRequest(analysis_id=analysis_id),
                metadata=bearer(c.token("output_checker")), timeout=30), 1))
        c.think()


def read_some(stream, wanted):
    """Reads up to `wanted` messages of a stream, then closes it."""
    got = 0
    try:
        for _ in stream:
            got += 1
            if got >= wanted:
                break
    finally:
        stream.cancel()
    return got


def reader(c, worker):
    """Catalogue and governance reads; an imported dataset must be readable."""
    catalogue, governance, analyses = pb("catalogue"), pb("governance"), pb("analyses")
    researcher = bearer(c.token("researcher"))
    while not c.stopped:
        choice = c.rng.randrange(4)
        if choice == 0:
            c.call("ListDatasets", lambda: c.catalogue.ListDatasets(
                catalogue.ListDatasetsRequest(page_size=50), metadata=researcher, timeout=30))
        elif choice == 1:
            c.call("SearchDatasets", lambda: c.catalogue.SearchDatasets(
                catalogue.SearchDatasetsRequest(query="heart failure"), metadata=researcher,
                timeout=30))
        elif choice == 2:
            c.call("ListAnalyses", lambda: c.analyses.ListAnalyses(
                analyses.ListAnalysesRequest(project_id=c.project, page_size=20),
                metadata=researcher, timeout=30))
        elif c.soak.recent_datasets:
            dataset_id = c.rng.choice(list(c.soak.recent_datasets))
            c.call("GetDataset(imported)", lambda: c.catalogue.GetDataset(
                catalogue.GetDatasetRequest(id=dataset_id), metadata=researcher, timeout=30))
        c.call("GetProject", lambda: c.governance.GetProject(
            governance.GetProjectRequest(project_id=c.project), metadata=researcher,
            timeout=30))
        c.think()


def client_kind(function, count, roles, project=None):
    """A kind of client: how many, the roles its subject acts in, and its
    own project: None, "own" (created) or "approved" (approved for the base
    dataset and counts, the subject trained)."""
    function.count, function.roles, function.project = count, roles, project
    return function


# 32 clients in all, each its own person (a node lets one caller hold only a
# few streams at once).
MIX = [client_kind(importer, 3, ["data_steward"]),
       client_kind(project_creator, 4, ["researcher"]),
       client_kind(querier, 6, ["researcher"], "approved"),
       client_kind(releaser, 4, ["researcher"], "approved"),
       client_kind(log_reader, 4, ["auditor", "researcher"], "own"),
       client_kind(refuser, 4, ["researcher", "auditor", "output_checker"]),
       client_kind(streamer, 4, ["auditor", "output_checker"]),
       client_kind(reader, 3, ["researcher"], "own")]


def subject_of(kind, number):
    return f"mallory-{number}" if kind is refuser else f"{kind.__name__}-{number}"


def project_of(kind, number):
    return f"proj-{kind.__name__.replace('_', '-')}-{number}"


def start_clients(soak):
    threads = []
    for kind in MIX:
        for number in range(kind.count):
            client = Client(soak, kind, number, seed=len(threads) + 1000 * soak.seed)
            thread = threading.Thread(target=run_client, args=(kind, client, number),
                                      name=client.subject)
            thread.start()
            threads.append(thread)
    return threads


def run_client(kind, client, worker):
    try:
        kind(client, worker)
    except Exception as error:  # a bug in the soak itself: counted, not hidden
        client.fail(kind.__name__, f"client crashed: {error!r}")
    finally:
        client.channel.close()
