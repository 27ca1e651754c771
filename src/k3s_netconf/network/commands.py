"""Running nft and sysctl inside a network namespace.

nsenter enters only the network namespace kept at /run/netns/NAME (where ``ip netns add``
and network operating systems keep theirs), which is all that nft and the ``net.*`` sysctls
look at. An empty name is the daemon's own namespace: the program runs as it is.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

NETNS_FOLDER = Path("/run/netns")

# Seconds one command may take; nft and sysctl answer in milliseconds.
TIMEOUT = 10.0


class CommandFailed(Exception):
    """A program could not be run, or said it failed; the message says which and why."""


def namespace_path(namespace: str) -> Path:
    return NETNS_FOLDER / namespace


def exists(namespace: str) -> bool:
    return not namespace or namespace_path(namespace).exists()


def where(namespace: str) -> str:
    return f"network namespace {namespace!r}" if namespace else "the daemon's network namespace"


def installed(program: str) -> bool:
    return shutil.which(program) is not None


def nft(namespace: str, *args: str, script: str = "") -> str:
    return run(namespace, ["nft", *args], script)


def enable_forwarding(namespace: str, interface: str) -> None:
    # The slash form of the key keeps interface names with dots (VLANs) intact.
    run(namespace, ["sysctl", "-q", "-w", f"net/ipv4/conf/{interface}/forwarding=1"])


def run(namespace: str, argv: Sequence[str], stdin: str = "") -> str:
    """Run ``argv`` in the namespace; its standard output, or CommandFailed."""
    if not installed(argv[0]):
        raise CommandFailed(f"the {argv[0]} program is not installed")
    if not exists(namespace):
        raise CommandFailed(f"{where(namespace)} does not exist")

    enter = ["nsenter", f"--net={namespace_path(namespace)}"] if namespace else []
    try:
        done = subprocess.run(
            [*enter, *argv],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        raise CommandFailed(f"{argv[0]} could not run in {where(namespace)}: {e}") from e

    if done.returncode != 0:
        said = done.stderr.strip() or f"exit status {done.returncode}"
        raise CommandFailed(f"{argv[0]} failed in {where(namespace)}: {said}")
    return done.stdout
