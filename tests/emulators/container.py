"""Runs the job runner as a cloud batch service would run it in the TRE's
container image, for the batch service fakes: in a bubblewrap mount
namespace with the host's /usr and /etc read-only, an empty root where the
runner makes /job and /data, its own /tmp, /proc and PID namespace, the
network (to reach the object store, as a job reaches it through a private
endpoint), and root with only the capabilities the runner needs to drop to
its job's user. Tests run as root, as the node's sandbox tests do.
"""
import os
import queue
import signal
import subprocess
import threading

RUNNER_IN_CONTAINER = "/opt/trenode/trenode-job-runner"


_REQUESTS = queue.Queue()


def _launch_forever():
    while True:
        argv, env, log_path, answer = _REQUESTS.get()
        try:
            with open(log_path, "ab") as log:
                answer.put(subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log,
                                            stderr=log, env=env, start_new_session=True))
        except OSError as error:
            answer.put(error)


# bwrap's --die-with-parent follows the thread that started it, so every
# container is started by this one thread, which lives as long as the fake
# (a request's thread ends with its connection, and would take its
# containers with it).
threading.Thread(target=_launch_forever, daemon=True).start()


def start(runner, environment, log_path, binds=(), delegate_cgroups=False):
    """Starts the runner; returns its Popen (a process group of its own).
    `binds` are (host directory, path in the container) mounted read-write,
    as a platform mounts its own directories into a container.
    `delegate_cgroups` mounts the host's cgroup tree writable at
    /sys/fs/cgroup, as a platform that delegates cgroups to its containers
    does, so that the runner meters the job by a cgroup of its own."""
    argv = ["/usr/bin/bwrap", "--die-with-parent", "--unshare-pid", "--unshare-ipc",
            "--unshare-uts", "--share-net",
            "--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc",
            "--symlink", "usr/bin", "/bin", "--symlink", "usr/sbin", "/sbin",
            "--symlink", "usr/lib", "/lib", "--symlink", "usr/lib64", "/lib64",
            "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp",
            "--ro-bind", runner, RUNNER_IN_CONTAINER,
            "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID", "--cap-add", "CAP_CHOWN",
            "--cap-add", "CAP_DAC_OVERRIDE", "--cap-add", "CAP_FOWNER", "--cap-add", "CAP_KILL",
            ]
    for host, inside in binds:
        argv += ["--bind", host, inside]
    if delegate_cgroups and os.path.isdir("/sys/fs/cgroup"):
        argv += ["--bind", "/sys/fs/cgroup", "/sys/fs/cgroup"]
    argv += ["--", RUNNER_IN_CONTAINER]
    # The environment goes in as a container runtime puts it, never on a
    # command line (which every process can read in /proc).
    env = {"PATH": "/usr/bin:/bin"}
    env.update(dict(environment))
    answer = queue.Queue()
    _REQUESTS.put((argv, env, log_path, answer))
    process = answer.get()
    if isinstance(process, OSError):
        raise process
    return process


def _runner_pid(process):
    """The runner's pid on the host: the first process under bwrap's whose
    command is the runner's (the job's processes are below it)."""
    level = [process.pid]
    while level:
        below = []
        for pid in level:
            try:
                with open("/proc/%d/task/%d/children" % (pid, pid)) as f:
                    children = [int(c) for c in f.read().split()]
            except OSError:
                continue
            for child in children:
                try:
                    with open("/proc/%d/cmdline" % child, "rb") as f:
                        argv0 = f.read().split(b"\0")[0]
                except OSError:
                    continue
                if argv0 == RUNNER_IN_CONTAINER.encode():
                    return child
                below.append(child)
        level = below
    return None


def terminate(process, grace):
    """Stops the container as a batch service does: SIGTERM to its program
    (the runner), and SIGKILL to everything `grace` seconds later if it has
    not exited. Returns at once."""
    pid = _runner_pid(process)
    if pid is None:
        stop(process)
        return
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        pass

    def kill_later():
        try:
            process.wait(timeout=grace)
        except subprocess.TimeoutExpired:
            stop(process)
    threading.Thread(target=kill_later, daemon=True).start()


def stop(process):
    """Kills the runner and everything it started."""
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
