"""Running containerd's ``ctr`` CLI and reading what it prints.

``ctr`` has no machine-readable output, so the few tables it prints are parsed here and
nowhere else. Every failure becomes an ``OperationFailed`` whose message names the
containerd socket and quotes what ``ctr`` said.
"""

from __future__ import annotations

import logging
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import IO

from k3s_netconf import errors

logger = logging.getLogger(__name__)

# Phrases of ctr's gRPC dial errors: the daemon is down or the socket is wrong.
_UNREACHABLE = ("failed to dial", "connection refused")

# One row of `ctr images ls`. SIZE is human-readable and holds a space ("2.0 MiB"), so the row
# is anchored on the digest and on the shape of the size instead of split on whitespace.
_IMAGE_ROW = re.compile(
    r"^(?P<ref>\S+)\s+(?P<media_type>\S+)\s+(?P<digest>[a-z0-9]+:[0-9a-f]{32,})\s+"
    r"(?P<size>[0-9.]+\s?[A-Za-z]+|-)\s+(?P<platforms>\S+)\s+(?P<labels>.*?)\s*$"
)


@dataclass(frozen=True)
class ImageRow:
    """One image as ``ctr images ls`` lists it."""

    ref: str
    media_type: str
    digest: str
    platforms: tuple[str, ...]
    labels: dict[str, str]


class Ctr:
    """Runs ``ctr`` against one containerd socket and namespace."""

    def __init__(
        self, address: str, command: Sequence[str], namespace: str, timeout: float
    ) -> None:
        self.address = address
        self.command = tuple(command)
        self.namespace = namespace
        self.timeout = timeout

    def run(self, *args: str, stdin: IO[bytes] | None = None, timeout: float | None = None) -> str:
        """Run one ctr command and return its standard output as text."""
        return self.output(*args, stdin=stdin, timeout=timeout).decode(errors="replace")

    def output(
        self, *args: str, stdin: IO[bytes] | None = None, timeout: float | None = None
    ) -> bytes:
        """Run one ctr command and return its standard output as bytes."""
        self._check_socket()
        argv = [*self.command, "--address", self.address, "-n", self.namespace, *args]
        limit = timeout if timeout is not None else self.timeout
        logger.debug("Running %r.", argv)

        try:
            done = subprocess.run(
                argv, stdin=stdin, capture_output=True, timeout=limit, check=False
            )
        except FileNotFoundError as e:
            raise errors.OperationFailed(
                f"the containerd command line {self.command[0]!r} is not installed: {e}"
            ) from e
        except subprocess.TimeoutExpired as e:
            raise errors.OperationFailed(
                f"containerd at {self.address} did not finish 'ctr {' '.join(args)}' "
                f"within {limit:g} seconds"
            ) from e

        stderr = done.stderr.decode(errors="replace").strip()
        if done.returncode != 0:
            raise self._failure(args, stderr)
        if stderr:
            logger.debug("ctr %s said: %s", " ".join(args), stderr)
        return done.stdout

    def images(self) -> list[ImageRow]:
        return parse_images(self.run("images", "ls"))

    def _check_socket(self) -> None:
        # ctr waits ten seconds for a socket that does not exist; say so at once instead.
        path = self.address.removeprefix("unix://")
        if path.startswith("/") and not os.path.exists(path):
            raise errors.OperationFailed(
                f"containerd at {self.address} is not reachable: the socket does not exist"
            )

    def _failure(self, args: Sequence[str], stderr: str) -> errors.OperationFailed:
        said = stderr.removeprefix("ctr: ") or "no error message"
        if any(phrase in stderr.lower() for phrase in _UNREACHABLE):
            return errors.OperationFailed(f"containerd at {self.address} is not reachable: {said}")
        return errors.OperationFailed(
            f"'ctr {' '.join(args)}' failed at containerd {self.address}: {said}"
        )


def parse_images(output: str) -> list[ImageRow]:
    """Read the table of ``ctr images ls``; a row that does not fit is an error, not a gap."""
    rows = []
    for line in output.splitlines():
        if not line.strip() or line.startswith("REF "):
            continue

        match = _IMAGE_ROW.match(line)
        if match is None:
            raise errors.OperationFailed(f"cannot read this line of 'ctr images ls': {line!r}")

        platforms = match["platforms"]
        rows.append(
            ImageRow(
                ref=match["ref"],
                media_type=match["media_type"],
                digest=match["digest"],
                platforms=tuple(platforms.split(",")) if platforms != "-" else (),
                labels=parse_labels(match["labels"]),
            )
        )
    return rows


def parse_labels(text: str) -> dict[str, str]:
    if text in ("", "-"):
        return {}
    pairs = (item.partition("=") for item in text.split(","))
    return {key: value for key, _, value in pairs}
