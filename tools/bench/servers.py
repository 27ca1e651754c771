"""The two servers under test, each started by pid in a folder of its own and stopped by pid.

``Ours`` is k3s-netconfd against the local cluster, in a namespace of its own, with every
Kubernetes API request counted. ``Theirs`` is yuma123's netconfd behind an sshd of its own on
a loopback port, loaded with our YANG module as plain config storage.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from client import NetconfFailure, Session, Target

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
MODULE = REPO / "yang" / "k3s-netconf-apps@2026-12-04.yang"
READY = re.compile(rb"Ready: listening on address=\S+ port=(\d+)")
# The daemon's own account of each commit: its checking and planning, and its saving.
COMMITTED = re.compile(
    rb"committed in [\d.]+ ms: checking and planning ([\d.]+) ms, applying [\d.]+ ms, "
    rb"saving ([\d.]+) ms"
)
# The daemon's threads that reach the API server on their own: the watch cache, reconciling,
# repairs, the usage poll, the forwarder and the background listings.
BACKGROUND_THREADS = ("watch-", "reconcile", "repair", "usage", "forwarding", "refresh ")
START_TIMEOUT = 60.0
STOP_TIMEOUT = 20.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def waited_seconds(calls: list[ApiCall]) -> float:
    """How long at least one of the requests was under way: requests sent at once overlap."""
    total, end = 0.0, float("-inf")
    for call in sorted(calls, key=lambda c: c.start):
        finish = call.start + call.seconds
        if finish > end:
            total += finish - max(call.start, end)
            end = finish
    return total


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
    try:
        process.wait(STOP_TIMEOUT)
    except subprocess.TimeoutExpired:
        os.kill(process.pid, signal.SIGKILL)
        process.wait(STOP_TIMEOUT)


@dataclass(frozen=True)
class ApiCall:
    method: str
    url: str
    start: float
    seconds: float
    thread: str

    @property
    def in_background(self) -> bool:
        """Made by one of the daemon's own loops, not on behalf of an rpc."""
        return self.thread.startswith(BACKGROUND_THREADS)


@dataclass
class Ours:
    folder: Path
    key: Path
    public_key: str
    kubeconfig: str
    containerd_address: str
    namespace: str
    process: subprocess.Popen[bytes] | None = None
    port: int = 0
    start_seconds: float = 0.0
    calls_file: Path = field(init=False)

    def __post_init__(self) -> None:
        self.calls_file = self.folder / "api-calls.log"

    def start(self) -> None:
        (self.folder / "images").mkdir(parents=True, exist_ok=True)
        settings = self.folder / "settings.toml"
        settings.write_text(self._settings())
        log = (self.folder / "daemon.log").open("wb")
        command = [sys.executable, str(HERE / "counted_daemon.py"), str(self.calls_file)]

        started = time.perf_counter()
        self.process = subprocess.Popen(
            [*command, "--settings", str(settings)],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=self.folder,
        )
        self.port = self._wait_until_ready()
        self.start_seconds = time.perf_counter() - started

    def target(self) -> Target:
        return Target("127.0.0.1", self.port, "bench", self.key)

    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def api_calls(self) -> list[ApiCall]:
        if not self.calls_file.exists():
            return []
        lines = self.calls_file.read_text().splitlines()
        return [
            ApiCall(method, url, float(start), float(seconds), thread)
            for method, url, start, seconds, thread in (line.split(" ", 4) for line in lines)
        ]

    def own_work(self) -> float:
        """Seconds the commits so far spent checking, planning and saving, by the daemon's log."""
        log = (self.folder / "daemon.log").read_bytes()
        return sum(float(a) + float(b) for a, b in COMMITTED.findall(log)) / 1000

    def stop(self) -> None:
        if self.process is not None:
            stop(self.process)

    def _settings(self) -> str:
        sections = {
            "server": {
                "address": "127.0.0.1",
                "port": 0,
                "state_dir": "state",
                "max_message_bytes": 64 * 1024 * 1024,
            },
            "kubernetes": {"kubeconfig": self.kubeconfig, "namespace": self.namespace},
            "images": {"containerd_address": self.containerd_address, "folder": "images"},
            "log": {"level": "INFO"},  # the Ready line is logged at INFO
        }
        # JSON strings and numbers are valid TOML values.
        lines = []
        for name, values in sections.items():
            lines.append(f"[{name}]")
            lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
        lines += [
            "[[users]]",
            'name = "bench"',
            f"authorized_keys = [{json.dumps(self.public_key)}]",
        ]
        return "\n".join(lines) + "\n"

    def _wait_until_ready(self) -> int:
        assert self.process is not None
        log = self.folder / "daemon.log"
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if match := READY.search(log.read_bytes()):
                return int(match[1])
            if self.process.poll() is not None:
                raise RuntimeError(f"k3s-netconfd exited:\n{log.read_text(errors='replace')}")
            time.sleep(0.002)
        raise RuntimeError(f"k3s-netconfd was not ready in {START_TIMEOUT} s")


# A pattern statement whose block inverts it: YANG 1.1's `modifier invert-match`, which
# yuma123 cannot parse. Dropping the whole pattern (not only the modifier, which would turn
# the forbidden form into the required one) leaves a model that accepts a little more.
INVERTED_PATTERN = re.compile(r"\n\s*pattern '[^']*' \{[^{}]*modifier invert-match;[^{}]*\}")


# yuma123 loads YANG 1.1 actions but then fails every edit of their list ("add defaults
# failed", internal error 4), apparently on the defaults of the action's input leaves.
ACTION = re.compile(r"\n\s*action ([-a-z]+) \{")


def strip_for_yuma(text: str) -> tuple[str, list[str]]:
    """Our module as yuma123 can load it, and what was removed."""
    removed = [" ".join(m.group(0).split()) for m in INVERTED_PATTERN.finditer(text)]
    text = INVERTED_PATTERN.sub("", text)
    for _ in range(20):
        found = ACTION.search(text)
        if found is None:
            break
        removed.append(f"action {found[1]}")
        text = text[: found.start()] + text[_block_end(text, found.end()) :]
    return text, removed


def _block_end(text: str, start: int) -> int:
    """Where the block opened just before start closes (no quoted brace inside an action)."""
    depth = 1
    for index in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[index], 0)
        if depth == 0:
            return index + 1
    raise ValueError("unbalanced braces in the module")


@dataclass
class Theirs:
    folder: Path
    key: Path
    public_key: str
    # netconfd edits one target datastore: running, or candidate with commit.
    datastore: str = "running"
    sshd: subprocess.Popen[bytes] | None = None
    netconfd: subprocess.Popen[bytes] | None = None
    port: int = 0
    start_seconds: float = 0.0
    removed: list[str] = field(default_factory=list)

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.port = free_port()
        module = self._stripped_module()
        socket_path = self.folder / "ncxserver.sock"
        self._start_sshd(socket_path)

        started = time.perf_counter()
        self.netconfd = subprocess.Popen(
            [
                "/usr/sbin/netconfd",
                f"--module={module}",
                "--no-startup",
                f"--target={self.datastore}",
                f"--ncxserver-sockname={socket_path}",
                f"--port={self.port}",
                "--access-control=off",
                "--superuser=root",
                "--log-level=warn",
            ],
            stdout=(self.folder / "netconfd.log").open("wb"),
            stderr=subprocess.STDOUT,
            cwd=self.folder,
            env={**os.environ, "HOME": str(self.folder)},
        )
        self._wait_for(socket_path, self.netconfd)
        self.start_seconds = time.perf_counter() - started
        self._probe()

    def target(self) -> Target:
        return Target("127.0.0.1", self.port, "root", self.key)

    def pid(self) -> int:
        assert self.netconfd is not None
        return self.netconfd.pid

    def stop(self) -> None:
        for process in (self.sshd, self.netconfd):
            if process is not None:
                stop(process)

    def _probe(self) -> None:
        """One answered get-config: a session right after the socket appears may hang."""
        for attempt in range(3):
            try:
                session = Session(dataclasses.replace(self.target(), timeout=10.0))
                session.rpc("<get-config><source><running/></source></get-config>")
                session.close()
                return
            except (NetconfFailure, OSError, EOFError):
                time.sleep(0.5 * (attempt + 1))
        raise RuntimeError("netconfd answers no get-config")

    def _stripped_module(self) -> Path:
        text, self.removed = strip_for_yuma(MODULE.read_text())
        path = self.folder / MODULE.name
        path.write_text(text)
        return path

    def _start_sshd(self, socket_path: Path) -> None:
        host_key = self.folder / "ssh_host_ed25519_key"
        if not host_key.exists():
            subprocess.run(
                ["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key)],
                check=True,
                timeout=30,
            )
        (self.folder / "authorized_keys").write_text(self.public_key + "\n")
        subsystem = f"/usr/sbin/netconf-subsystem --ncxserver-sockname={self.port}@{socket_path}"
        config = self.folder / "sshd_config"
        config.write_text(
            f"Port {self.port}\nListenAddress 127.0.0.1\nHostKey {host_key}\n"
            f"PidFile {self.folder / 'sshd.pid'}\n"
            f"AuthorizedKeysFile {self.folder / 'authorized_keys'}\nStrictModes no\n"
            "PermitRootLogin prohibit-password\nPasswordAuthentication no\n"
            "KbdInteractiveAuthentication no\nUsePAM no\n"
            f"Subsystem netconf {subsystem}\n"
        )
        # sshd refuses to start without its privilege separation folder.
        Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
        self.sshd = subprocess.Popen(
            ["/usr/sbin/sshd", "-D", "-e", "-f", str(config)],
            stdout=(self.folder / "sshd.log").open("wb"),
            stderr=subprocess.STDOUT,
        )
        self._wait_for_port()

    def _wait_for(self, path: Path, process: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if path.exists():
                return
            if process.poll() is not None:
                raise RuntimeError(f"netconfd exited; see {self.folder / 'netconfd.log'}")
            time.sleep(0.002)
        raise RuntimeError(f"netconfd was not ready in {START_TIMEOUT} s")

    def _wait_for_port(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                return
            except OSError:
                time.sleep(0.01)
        raise RuntimeError(f"sshd did not listen on port {self.port}")
