"""Who may log in, and what an SSH connection may ask for once in.

Users come from the settings: a bcrypt password hash and OpenSSH public key lines each. A
refused password costs the client a pause, which makes guessing slow; refused public keys do
not, since clients routinely offer several keys and a key cannot be guessed. Once in, a client
may open session channels and ask for the ``netconf`` subsystem, nothing else: no shell, no
exec, no port forwarding.
"""

from __future__ import annotations

import base64
import binascii
import logging
import threading
import time
from collections.abc import Iterable
from dataclasses import dataclass

import bcrypt
import paramiko

from k3s_netconf import logs
from k3s_netconf.settings import User

logger = logging.getLogger(__name__)

# Seconds a refused password makes the client wait.
FAILED_LOGIN_DELAY = 1.0

SUBSYSTEM = "netconf"

# paramiko's answers, typed (the library has no type hints).
SUCCESS: int = paramiko.AUTH_SUCCESSFUL
FAILURE: int = paramiko.AUTH_FAILED
OPENED: int = paramiko.OPEN_SUCCEEDED
PROHIBITED: int = paramiko.OPEN_FAILED_ADMINISTRATIVELY_PROHIBITED

KEY_TYPES = frozenset(
    {
        "ssh-ed25519",
        "ecdsa-sha2-nistp256",
        "ecdsa-sha2-nistp384",
        "ecdsa-sha2-nistp521",
        "ssh-rsa",
    }
)


# A bcrypt hash of no account's password, at the cost `hash-password` uses. Written out
# rather than made at start, where hashing cost a third of a second.
DECOY_HASH = b"$2b$12$Inzk.j81TuddcO/StQJbDuyvlDivSA6fx/vl4bOJ117Nn6yMKUSuy"


@dataclass(frozen=True)
class Account:
    name: str
    password_hash: bytes | None
    # Public key blobs in SSH wire format: comparing them compares the keys.
    keys: frozenset[bytes]


class Users:
    """The accounts allowed to log in, checked without revealing which names exist."""

    def __init__(self, accounts: Iterable[Account]) -> None:
        self.accounts = {account.name: account for account in accounts}
        # Checked against when the name is unknown, so that a refusal takes as long either way.
        self._decoy = DECOY_HASH

    @classmethod
    def from_settings(cls, users: Iterable[User]) -> Users:
        return cls(_account(user) for user in users)

    def check_password(self, name: str, password: str) -> bool:
        account = self.accounts.get(name)
        hashed = account.password_hash if account and account.password_hash else self._decoy
        try:
            matches = bcrypt.checkpw(password.encode("utf-8"), hashed)
        except ValueError:
            # Longer than bcrypt's 72 bytes: no hash can match it.
            matches = False
        return matches and account is not None and account.password_hash is not None

    def check_key(self, name: str, key: paramiko.PKey) -> bool:
        account = self.accounts.get(name)
        return account is not None and key.asbytes() in account.keys


def parse_public_key(line: str) -> bytes:
    """The key blob of one authorized_keys line; raises ValueError saying what is wrong."""
    fields = line.split()
    if len(fields) < 2:
        raise ValueError("expected a key type and base64 key data")

    kind, data = fields[0], fields[1]
    if kind not in KEY_TYPES:
        # Options such as from="..." would restrict the key; ignoring them would grant more
        # than the line says, so such lines are refused instead.
        raise ValueError(f"{kind!r} is not a supported key type (options are not supported)")

    try:
        blob = base64.b64decode(data, validate=True)
        paramiko.PKey.from_type_string(kind, blob)
    except (binascii.Error, ValueError, paramiko.SSHException) as e:
        raise ValueError(f"the key data is not a valid {kind} key: {e}") from e
    return blob


class Authenticator(paramiko.ServerInterface):  # type: ignore[misc]
    """The paramiko server policy of one SSH connection."""

    def __init__(self, users: Users, peer: str) -> None:
        self.users = users
        self.peer = peer
        self.log = logs.peer_log(logger, peer)
        self._subsystem_lock = threading.Lock()
        self._subsystems: dict[int, threading.Event] = {}

    def get_allowed_auths(self, username: str) -> str:
        return "publickey,password"

    def check_auth_none(self, username: str) -> int:
        return FAILURE

    def check_auth_password(self, username: str, password: str) -> int:
        if self.users.check_password(username, password):
            self.log.info("User %r logged in with a password.", username)
            return SUCCESS

        self.log.warning("Refused the password of user %r.", username)
        time.sleep(FAILED_LOGIN_DELAY)
        return FAILURE

    def check_auth_publickey(self, username: str, key: paramiko.PKey) -> int:
        # Called once when the client offers a key and again once it has proved holding it.
        if self.users.check_key(username, key):
            self.log.debug("User %r offered an authorized %s key.", username, key.get_name())
            return SUCCESS

        self.log.info("Refused a %s key %s for user %r.", key.get_name(), key.fingerprint, username)
        return FAILURE

    def check_channel_request(self, kind: str, chanid: int) -> int:
        if kind == "session":
            return OPENED
        return PROHIBITED

    def check_channel_subsystem_request(self, channel: paramiko.Channel, name: str) -> bool:
        if name != SUBSYSTEM:
            self.log.info("Refused the subsystem %r: only %r is offered.", name, SUBSYSTEM)
            return False
        self._subsystem_event(channel).set()
        return True

    def wait_for_subsystem(self, channel: paramiko.Channel, timeout: float) -> bool:
        """Whether the client asked for the netconf subsystem on the channel in time."""
        return self._subsystem_event(channel).wait(timeout)

    def forget_channel(self, channel: paramiko.Channel) -> None:
        """Wake up whoever still waits for the channel's subsystem, and forget it."""
        with self._subsystem_lock:
            event = self._subsystems.pop(channel.get_id(), None)
        if event is not None:
            event.set()

    def _subsystem_event(self, channel: paramiko.Channel) -> threading.Event:
        with self._subsystem_lock:
            return self._subsystems.setdefault(channel.get_id(), threading.Event())


def _account(user: User) -> Account:
    password_hash = user.password_hash.encode("utf-8") if user.password_hash else None
    if password_hash is not None and not _is_bcrypt(password_hash):
        logger.warning(
            "User %r: password_hash is not a bcrypt hash; password login is off for this user. "
            "`k3s-netconfd hash-password` prints one.",
            user.name,
        )
        password_hash = None

    return Account(user.name, password_hash, frozenset(_keys(user)))


def _keys(user: User) -> Iterable[bytes]:
    for number, line in enumerate(user.authorized_keys, start=1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        try:
            yield parse_public_key(line)
        except ValueError as e:
            logger.warning("User %r: authorized key %d is ignored: %s.", user.name, number, e)


def _is_bcrypt(hashed: bytes) -> bool:
    return len(hashed) == 60 and hashed[:4] in (b"$2a$", b"$2b$", b"$2y$")
