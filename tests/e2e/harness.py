"""A real trenode for Python tests: its own development PKI, token issuer and
log key made with trectl, a config, and a process that can be stopped and
started again over the same state."""
import fcntl
import os
import shutil
import signal
import subprocess
import time

UID_SLOT_DIR = "/tmp/trenode-test-uid-slots"
_uid_slot_file = None


def test_first_uid():
    """The first of 64 job uids for this test process, a range no other test
    running at once holds: the same slots, claimed by flock, as
    tests/testutil/compute_backends.h."""
    global _uid_slot_file
    os.makedirs(UID_SLOT_DIR, mode=0o700, exist_ok=True)
    start = os.getpid() % 1000
    for i in range(1000):
        slot = (start + i) % 1000
        held = open(os.path.join(UID_SLOT_DIR, str(slot)), "a")
        try:
            fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            held.close()
            continue
        _uid_slot_file = held  # held until the process ends
        return 300000 + slot * 64
    return 300000 + start * 64


class Node:
    ISSUER = "https://dev-issuer.test"

    def __init__(self, bin_dir, root, node_id="py-node", start=True, extra_config="",
                 federation_pki=None):
        """`federation_pki`: a folder made by `trectl pki init` whose CA issues
        this node's certificate (so that several nodes can be partners);
        otherwise the node gets a CA of its own."""
        self.bin_dir = bin_dir
        self.extra_config = extra_config
        self.root = root
        self.node_id = node_id
        self.pki = os.path.join(root, "pki")
        if federation_pki:
            self.trectl_local("pki", "issue", "--dir", federation_pki, "--node", node_id)
            os.makedirs(self.pki, exist_ok=True)
            for name in ("ca.pem", f"{node_id}.pem", f"{node_id}.key"):
                shutil.copy(os.path.join(federation_pki, name), os.path.join(self.pki, name))
        else:
            self.trectl_local("pki", "init", "--dir", self.pki)
            self.trectl_local("pki", "issue", "--dir", self.pki, "--node", node_id)
        self.trectl_local("pki", "dev-issuer", "--dir", self.pki)
        self.trectl_local("pki", "log-key", "--dir", self.pki, "--origin", f"trenode.test/{node_id}")
        self.ca = os.path.join(self.pki, "ca.pem")
        self.log_pub = os.path.join(self.pki, "log.pub")
        self.database = os.path.join(root, "state", "node.db")
        self.config = os.path.join(root, "node.textproto")
        self.configure(f'oidc {{ issuer: "{self.ISSUER}" audiences: "trenode" '
                       f'jwks_file: "pki/dev-issuer-jwks.json" }}')
        self.process = None
        if start:
            self.start()

    def configure(self, oidc_block):
        """Writes the node's config with `oidc_block` as its oidc section."""
        with open(self.config, "w") as f:
            f.write(f'''node_id: "{self.node_id}"
listen_address: "127.0.0.1:0"
database_path: "state/node.db"
object_store {{ posix {{ root: "objects" }} }}
tls {{ certificate_file: "pki/{self.node_id}.pem" private_key_file: "pki/{self.node_id}.key"
      client_ca_file: "pki/ca.pem" }}
{oidc_block}
activity_log {{ signing_key_file: "pki/log.key" checkpoint_interval_seconds: 1 }}
{self.extra_config}
''')

    def trectl_local(self, *args):
        result = subprocess.run([os.path.join(self.bin_dir, "trectl"), *args],
                                capture_output=True, text=True, timeout=60, check=True)
        return result.stdout.strip()

    def start(self):
        port_file = os.path.join(self.root, "port")
        if os.path.exists(port_file):
            os.remove(port_file)
        if self.process is not None and self.process.stdout:
            self.process.stdout.close()  # an earlier run, stopped or killed
        self.process = subprocess.Popen(
            [os.path.join(self.bin_dir, "trenode"), "--config", self.config,
             "--port-file", port_file],
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if os.path.exists(port_file):
                with open(port_file) as f:
                    self.address = "127.0.0.1:" + f.read().strip()
                return
            if self.process.poll() is not None:
                raise RuntimeError("trenode exited: " + self.process.stdout.read())
            time.sleep(0.02)
        raise RuntimeError("trenode did not start in time")

    def start_expecting_failure(self):
        """Starts the node and returns (exit code, output) when it refuses to run."""
        result = subprocess.run([os.path.join(self.bin_dir, "trenode"), "--config", self.config],
                                capture_output=True, text=True, timeout=30)
        return result.returncode, result.stderr

    def token(self, role, subject=None):
        return self.trectl_local("token", "--issuer-key", os.path.join(self.pki, "dev-issuer.key"),
                                 "--issuer", self.ISSUER, "--subject", subject or f"py-{role}",
                                 "--roles", role)

    def channel(self):
        import grpc
        with open(self.ca, "rb") as f:
            credentials = grpc.ssl_channel_credentials(root_certificates=f.read())
        return grpc.secure_channel(self.address, credentials)

    def trectl(self, *args, token=None):
        """Runs trectl against this node; returns (exit code, stdout, stderr)."""
        env = dict(os.environ, TRENODE_NODE=self.address, TRENODE_CA=self.ca)
        if token:
            env["TRENODE_TOKEN"] = token
        result = subprocess.run([os.path.join(self.bin_dir, "trectl"), *args],
                                capture_output=True, text=True, timeout=120, env=env)
        return result.returncode, result.stdout, result.stderr

    def stop(self):
        self.process.send_signal(signal.SIGTERM)
        code = self.process.wait(timeout=30)
        output = self.process.stdout.read()
        self.process.stdout.close()
        return code, output
