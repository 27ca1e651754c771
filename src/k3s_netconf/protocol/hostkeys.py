"""The server's SSH host key: made on first start, then kept, so clients can pin it.

An Ed25519 key is made when none exists. paramiko cannot generate one, so ``cryptography``
writes it in the OpenSSH format that paramiko reads. The file is created complete and private
(mode 0600) under a temporary name and then linked into place, so a crash never leaves a
half-written key and two daemons starting at once end up with the same one.
"""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

import paramiko
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from k3s_netconf import files

logger = logging.getLogger(__name__)

PRIVATE = 0o600


class HostKeyError(Exception):
    """The host key can be neither read nor made; the message names the file."""


def load_or_create(path: Path) -> paramiko.PKey:
    try:
        if not path.exists():
            _create(path)
        _keep_private(path)
        key = paramiko.PKey.from_path(path)
    except (OSError, ValueError, paramiko.SSHException) as e:
        raise HostKeyError(f"cannot use the host key {str(path)!r}: {e}") from e

    logger.info("Host key %s is %s %s.", str(path), key.get_name(), key.fingerprint)
    return key


def _create(path: Path) -> None:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    data = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )

    # The temporary file has mode 0600 before a byte of the key is in it; linking, unlike
    # renaming, never replaces a key another process made meanwhile.
    temporary = files.durable_temporary(path, data)
    try:
        os.link(temporary, path)
        logger.info("Made a new host key %s.", str(path))
    except FileExistsError:
        logger.info("Another process made the host key %s first; using it.", str(path))
    finally:
        temporary.unlink()
    files.sync_folder(path.parent)


def _keep_private(path: Path) -> None:
    mode = stat.S_IMODE(path.stat().st_mode)
    if mode & 0o077:
        logger.warning(
            "Host key %s was readable by others (mode %o); made it private.", str(path), mode
        )
        path.chmod(PRIVATE)
