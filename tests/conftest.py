"""Fixtures shared by the test tiers.

``netconf_daemon`` is one real ``k3s-netconfd`` for the whole test run, listening on a free
loopback port; ``start_daemon`` starts one with settings of the test's own and stops it when
the test ends. Either way ``daemon.user`` logs in with ``daemon.password`` or with any private
key in ``daemon.keys``, and the daemon is stopped by its pid with SIGTERM.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import bcrypt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from daemons import daemon_command

USER = "admin"
PASSWORD = "correct horse ü"
READY = re.compile(r"Ready: listening on address=(\S+) port=(\d+)")
START_TIMEOUT = 30.0
STOP_TIMEOUT = 15.0


@dataclass
class Daemon:
    process: subprocess.Popen[bytes]
    folder: Path
    port: int
    keys: dict[str, Path]
    host: str = "127.0.0.1"
    user: str = USER
    password: str = PASSWORD

    @property
    def log_path(self) -> Path:
        return self.folder / "daemon.log"

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def stop(self) -> int:
        """SIGTERM by pid; the exit status (negative: it had to be aborted after STOP_TIMEOUT)."""
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
        try:
            return self.process.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            # SIGABRT makes the fault handler write every thread's stack to the log.
            os.kill(self.process.pid, signal.SIGABRT)
            self.process.wait(STOP_TIMEOUT)
            return -signal.SIGABRT


@pytest.fixture(scope="session")
def client_keys(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Private key files of the user, by kind; all of them are authorized."""
    folder = tmp_path_factory.mktemp("client-keys")
    made = {
        "ed25519": ed25519.Ed25519PrivateKey.generate(),
        "ecdsa": ec.generate_private_key(ec.SECP256R1()),
        "rsa": rsa.generate_private_key(public_exponent=65537, key_size=2048),
    }
    paths = {}
    for kind, key in made.items():
        paths[kind] = folder / f"id_{kind}"
        paths[kind].write_bytes(
            key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.OpenSSH,
                serialization.NoEncryption(),
            )
        )
        paths[kind].chmod(0o600)
        public = key.public_key().public_bytes(
            serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
        )
        (folder / f"id_{kind}.pub").write_bytes(public + f" test-{kind}\n".encode())
    return paths


@pytest.fixture(scope="session")
def password_hash() -> str:
    # The fewest rounds bcrypt allows: the hash is checked for real, only faster.
    return bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()


@pytest.fixture(scope="session")
def netconf_daemon(
    tmp_path_factory: pytest.TempPathFactory, client_keys: dict[str, Path], password_hash: str
) -> Iterator[Daemon]:
    daemon = launch(tmp_path_factory.mktemp("daemon"), client_keys, password_hash)
    yield daemon
    daemon.stop()


@pytest.fixture
def start_daemon(
    tmp_path: Path, client_keys: dict[str, Path], password_hash: str
) -> Iterator[Callable[..., Daemon]]:
    """start_daemon(folder=None, **settings): a daemon of the test's own; see ``launch``."""
    started: list[Daemon] = []

    def start(folder: Path | None = None, extra: str = "", **sections: dict[str, Any]) -> Daemon:
        daemon = launch(
            folder or tmp_path / f"daemon{len(started)}",
            client_keys,
            password_hash,
            extra=extra,
            **sections,
        )
        started.append(daemon)
        return daemon

    yield start
    for daemon in started:
        daemon.stop()


def launch(
    folder: Path,
    client_keys: dict[str, Path],
    password_hash: str,
    extra: str = "",
    **sections: dict[str, Any],
) -> Daemon:
    """Start k3s-netconfd with test settings, overridden per section (server={...}, log={...}).

    ``extra`` is TOML text appended to the settings file, for tables such as [[users]] or [nacm].
    """
    folder.mkdir(parents=True, exist_ok=True)
    settings = {
        "server": {
            "address": "127.0.0.1",
            "port": 0,
            "state_dir": "state",
            "hello_timeout": 10.0,
            "max_message_bytes": 256 * 1024,
        },
        # No cluster in these tests: the daemon must serve regardless.
        "kubernetes": {"kubeconfig": "no-kubeconfig"},
        "images": {"folder": "images"},
        "log": {"level": "INFO"},
    }
    for name, values in sections.items():
        settings[name] = {**settings.get(name, {}), **values}
    keys = [(path.parent / f"{path.name}.pub").read_text().strip() for path in client_keys.values()]
    users = {"name": USER, "password_hash": password_hash, "authorized_keys": keys}
    (folder / "settings.toml").write_text(_toml(settings, users) + extra)

    log_path = folder / "daemon.log"
    with log_path.open("ab") as log:
        # A restart in the same folder appends; only its own lines tell its port.
        start = log.tell()
        process = subprocess.Popen(
            [*daemon_command(), "--settings", str(folder / "settings.toml")],
            stdout=log,
            stderr=subprocess.STDOUT,
            cwd=folder,
            env={**os.environ, "PYTHONFAULTHANDLER": "1"},
        )
    return Daemon(process, folder, _wait_until_ready(process, log_path, start), client_keys)


def _wait_until_ready(process: subprocess.Popen[bytes], log_path: Path, start: int) -> int:
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        if match := READY.search(log_path.read_bytes()[start:].decode(errors="replace")):
            return int(match[2])
        if process.poll() is not None:
            pytest.fail(f"k3s-netconfd exited with {process.returncode}:\n{log_path.read_text()}")
        time.sleep(0.05)
    process.kill()
    pytest.fail(f"k3s-netconfd was not ready in {START_TIMEOUT} s:\n{log_path.read_text()}")


def _toml(sections: dict[str, dict[str, Any]], user: dict[str, Any]) -> str:
    # JSON strings, numbers and string lists are valid TOML values.
    lines = []
    for name, values in sections.items():
        lines.append(f"[{name}]")
        lines.extend(f"{key} = {json.dumps(value)}" for key, value in values.items())
    lines.append("[[users]]")
    lines.extend(f"{key} = {json.dumps(value)}" for key, value in user.items())
    return "\n".join(lines) + "\n"


# The local cluster's fixtures and timing report, shared by the cluster and end-to-end tiers.
from localcluster import cluster, pytest_terminal_summary, record_timing  # noqa: F401
