"""Run a command (CI: `invoke test`) under the conditions of the hosted CI platforms, with real parts.

CI runs `.ci/run` as root on a machine where the Docker engine is local; the hosted platforms differ,
and both differences are rehearsed in the one test run, so they cost no second run:

- **A hosted GitHub/Azure runner** (ubuntu-latest, Azure's hosted agents): the command runs as the
  non-root user `runner`, in the `docker` group, with passwordless sudo, owning the clone, HOME its
  own, with `CI=true`; the engine is already running and root's.
- **GitLab's docker-in-docker**: that engine runs in its own network namespace and is reached over
  TCP through `DOCKER_HOST` (tcp://10.213.0.2:2375): its 127.0.0.1 is not the job's, ports the tests
  publish are on the engine's address, and registries the tests start must listen on the job's
  address as the engine sees it (10.213.0.1, an insecure registry there, as a dind service is told
  with `--insecure-registry`).

The base image is imported into that engine here (as root, from the same debootstrap cache
`invoke base-image` uses): a hosted runner pulls it from Docker Hub without root, and this machine has
no registry. Exit status and output are the command's; everything set up is undone afterwards
(dockerd stopped by its PID, the namespace, its NAT rule and its data removed).

    python3 ci/rehearse.py invoke test            # what .ci/run does (as root)
    python3 ci/rehearse.py invoke test -k push    # a part of it
"""

import grp
import os
import pwd
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import ExitStack, contextmanager
from functools import partial
from pathlib import Path

from prediris_ops.container import docker, engine
from prediris_ops.core.errors import OpsError
from prediris_ops.core.paths import ROOT

USER = "runner"  # GitHub's hosted runner user
NETNS = f"prediris-dind-{os.getpid()}"
JOB_LINK = f"dind{os.getpid()}"  # the job's end of the link (an interface name: 15 characters at most)
# The job's and the engine's ends of the link between them (a /30: nothing else lives there).
SUBNET, JOB_ADDRESS, ENGINE_ADDRESS = "10.213.0.0/30", "10.213.0.1", "10.213.0.2"
ENGINE_PORT = 2375
BASE_IMAGE = "debian:bookworm-slim"
START_ATTEMPTS, START_TIMEOUT = 2, 60.0


def step(*argv: str) -> None:
    """Run a setup command; stop the rehearsal with its message when it fails."""
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise SystemExit(f"rehearse: `{' '.join(argv)}` failed with status {result.returncode}: {result.stderr.strip()}")


def runner_user(clone: Path) -> pwd.struct_passwd:
    """The hosted runner's user: non-root, in the docker group, passwordless sudo, owning the clone."""
    try:
        pwd.getpwnam(USER)
    except KeyError:
        step("useradd", "--create-home", "--shell", "/bin/bash", "--groups", "docker", USER)
    step("usermod", "--append", "--groups", "docker", USER)
    sudoers = Path(f"/etc/sudoers.d/{USER}")
    sudoers.write_text(f"{USER} ALL=(ALL) NOPASSWD:ALL\n")
    sudoers.chmod(0o440)
    # actions/checkout runs as the runner: the clone (and what pip -e wrote into it) is the user's.
    step("chown", "-R", f"{USER}:{USER}", str(clone))
    # CI's Python may live under root's home (pyenv): the runner's Python is readable by the runner.
    for parent in Path(sys.executable).resolve().parents:
        mode = parent.stat().st_mode
        if not mode & 0o001:
            parent.chmod(mode | 0o001)
    return pwd.getpwnam(USER)


@contextmanager
def dind_engine(workdir: Path) -> Iterator[str]:
    """Start dockerd as root in its own network namespace, reachable over TCP; yield its DOCKER_HOST."""
    forward = Path("/proc/sys/net/ipv4/ip_forward")
    host = f"tcp://{ENGINE_ADDRESS}:{ENGINE_PORT}"
    nat = ["POSTROUTING", "--source", SUBNET, "!", "--destination", SUBNET, "--jump", "MASQUERADE"]
    forward_rules = [["FORWARD", "--source", SUBNET, "--jump", "ACCEPT"], ["FORWARD", "--destination", SUBNET, "--jump", "ACCEPT"]]
    with ExitStack() as undo:
        step("ip", "netns", "add", NETNS)
        undo.callback(step, "ip", "netns", "delete", NETNS)
        step("ip", "link", "add", JOB_LINK, "type", "veth", "peer", "name", "eth-dind", "netns", NETNS)
        step("ip", "addr", "add", f"{JOB_ADDRESS}/30", "dev", JOB_LINK)
        step("ip", "link", "set", JOB_LINK, "up")
        for argv in (["ip", "addr", "add", f"{ENGINE_ADDRESS}/30", "dev", "eth-dind"], ["ip", "link", "set", "eth-dind", "up"],
                     ["ip", "link", "set", "lo", "up"], ["ip", "route", "add", "default", "via", JOB_ADDRESS]):  # fmt: skip
            step("ip", "netns", "exec", NETNS, *argv)
        # The engine's builds reach the package registries through the job's machine, as dind's do
        # (forwarding stays on afterwards, as dockerd leaves it: another engine may rely on it).
        forward.write_text("1\n")
        step("iptables", "--table", "nat", "--append", *nat)
        undo.callback(step, "iptables", "--table", "nat", "--delete", *nat)
        for rule in forward_rules:
            step("iptables", "--insert", *rule)
            undo.callback(step, "iptables", "--delete", *rule)
        os.environ["DOCKER_HOST"] = host
        client = docker.resolve_client(os.environ.get("INVOKE_DOCKER_EXECUTABLE", "docker"))
        started = start_dind_engine(client, host, workdir, undo)
        undo.callback(engine.stop_engine, started)
        print(f"rehearse: dockerd {started.server_version} in network namespace {NETNS}, DOCKER_HOST={host}", flush=True)
        print(f"rehearse: {BASE_IMAGE} {engine.ensure_base_image(client, BASE_IMAGE)}", flush=True)
        yield host


def show_stuck_engine(attempt: int, log: Path, exec_root: Path) -> None:
    """Print what a stuck engine start looks like: its containerd socket, its processes, its last own lines."""
    socket = exec_root / "containerd" / "containerd.sock"
    processes = subprocess.run(["ps", "-eo", "pid,stat,wchan:24,etime,args"], capture_output=True, text=True, check=False).stdout
    ours = [line for line in processes.splitlines() if str(exec_root) in line]
    own_lines = [line for line in log.read_text(errors="replace").splitlines() if "module=grpc" not in line]
    state = f"containerd socket {'present' if socket.exists() else 'absent'}; its processes:"
    print("\n".join([f"rehearse: attempt {attempt} is stuck; {state}", *ours, *own_lines[-12:]]), flush=True)


def start_dind_engine(client: str, host: str, workdir: Path, undo: ExitStack) -> engine.Engine:
    """Start dockerd in the namespace. A start that hangs is shown (with its processes), stopped and tried
    once more in a fresh data root: the first dockerd on a fresh CI machine has once hung on containerd."""
    for attempt in range(1, START_ATTEMPTS + 1):
        data = workdir / f"engine-{attempt}"
        undo.callback(shutil.rmtree, data, ignore_errors=True)
        log = workdir / f"dockerd-{attempt}.log"
        args = ["--host", host, "--tls=false", "--data-root", str(data / "data"), "--exec-root", str(data / "exec"),
                "--pidfile", str(data / "docker.pid"), "--insecure-registry", SUBNET]  # fmt: skip
        wrapper = ["nsenter", f"--net=/run/netns/{NETNS}"]
        try:
            return engine.start_engine(client, log, START_TIMEOUT, args, wrapper, partial(show_stuck_engine, attempt, log, data / "exec"))
        except OpsError as error:
            print(f"rehearse: attempt {attempt} of {START_ATTEMPTS}: {error}", flush=True)
            # What a dockerd stopped mid-start leaves: its containerd, and its data root mounted on itself.
            subprocess.run(["pkill", "--signal", "KILL", "--full", str(data / "exec")], check=False)
            subprocess.run(["umount", "--lazy", str(data / "data")], capture_output=True, check=False)
    raise SystemExit(f"rehearse: no Docker engine after {START_ATTEMPTS} attempts (see above)")


def run_as_runner(command: Sequence[str], user: pwd.struct_passwd, docker_host: str) -> int:
    """Run `command` in the clone as the runner, with its HOME, CI=true and the dind engine; its exit status."""
    bin_dir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "HOME": user.pw_dir,
        "USER": user.pw_name,
        "LOGNAME": user.pw_name,
        "PATH": f"{bin_dir}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        "CI": "true",
        "DOCKER_HOST": docker_host,
        "PREDIRIS_REHEARSAL": "hosted-runner,dind",
    }
    env.pop("XDG_CACHE_HOME", None)
    program = shutil.which(command[0], path=env["PATH"]) or command[0]
    print(f"rehearse: {' '.join(command)} as {user.pw_name} (uid {user.pw_uid}, docker group, passwordless sudo), CI=true", flush=True)
    groups = [grp.getgrnam("docker").gr_gid]
    return subprocess.run([program, *command[1:]], env=env, cwd=ROOT, user=user.pw_uid, group=user.pw_gid, extra_groups=groups,
                          check=False).returncode  # fmt: skip


def main(command: Sequence[str]) -> int:
    if os.geteuid() != 0:
        raise SystemExit("rehearse: run as root (it creates the runner user and starts the engine a hosted runner has)")
    if not command:
        raise SystemExit("usage: python3 ci/rehearse.py COMMAND... (e.g. invoke test)")
    user = runner_user(ROOT)
    with (
        tempfile.TemporaryDirectory(prefix="prediris-rehearse-", dir="/var/tmp", ignore_cleanup_errors=True) as workdir,
        dind_engine(Path(workdir)) as host,
    ):
        return run_as_runner(command, user, host)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
