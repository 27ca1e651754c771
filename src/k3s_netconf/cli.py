"""The ``k3s-netconfd`` command: run the NETCONF server, or print a password hash for settings.

    k3s-netconfd [--settings FILE] [--address ADDR] [--port N] [--log-level LEVEL]
    k3s-netconfd hash-password < password-file

Once the server listens it logs a ``Ready`` line with ``address=`` and ``port=``, which is how
scripts learn the port when the settings ask for port 0 (any free port). SIGTERM and SIGINT end
every session and stop the daemon with exit status 0.
"""

from __future__ import annotations

import argparse
import dataclasses
import getpass
import logging
import signal
import sys
from pathlib import Path
from typing import Any

import bcrypt

from k3s_netconf import __version__, logs, settings
from k3s_netconf.protocol.hostkeys import HostKeyError
from k3s_netconf.protocol.server import Server
from k3s_netconf.service import Service, StateDirBusy

logger = logging.getLogger(__name__)

DEFAULT_SETTINGS = Path("/etc/k3s-netconf/settings.toml")
STOP_SIGNALS = {signal.SIGTERM, signal.SIGINT}


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "hash-password":
        return _hash_password()
    return _serve(args)


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="k3s-netconfd", description="Manage the container apps of a K3s device over NETCONF."
    )
    parser.add_argument("--version", action="version", version=__version__)
    parser.add_argument(
        "--settings",
        type=Path,
        help=f"the settings file (default: {DEFAULT_SETTINGS} if it exists, else built-in values)",
    )
    parser.add_argument("--address", help="listen on this address instead of the settings' one")
    parser.add_argument("--port", type=int, help="listen on this port; 0 picks a free one")
    parser.add_argument("--log-level", help="DEBUG, INFO, WARNING or ERROR")

    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands.add_parser("serve", help="run the NETCONF server (what runs without a command)")
    commands.add_parser(
        "hash-password",
        help="read a password (from stdin, or asked twice on a terminal) and print its bcrypt hash",
    )
    return parser


def _serve(args: argparse.Namespace) -> int:
    try:
        config = _settings(args)
        logs.setup(config.log)
    except (settings.SettingsError, ValueError) as e:
        print(f"k3s-netconfd: {e}", file=sys.stderr)
        return 2

    # Threads started from here on inherit a mask without these signals, so they wait for
    # sigwait below. Otherwise the kernel may hand one to any thread, and a main thread
    # blocked on a lock would not notice it until something else woke it up.
    signal.pthread_sigmask(signal.SIG_BLOCK, STOP_SIGNALS)
    if not config.users:
        logger.warning("No users are configured: nobody can log in.")

    service, metrics = _service(config)
    try:
        service.start()
    except StateDirBusy as e:
        logger.error("%s", e)
        return 1
    try:
        endpoint = metrics.Endpoint(config.metrics, service, service.figures) if metrics else None
    except OSError as e:
        logger.error("Cannot serve metrics on port %d: %s.", config.metrics.port, e)
        service.stop()
        return 1
    try:
        server = Server(config, service)
    except (OSError, HostKeyError) as e:
        logger.error("Cannot start the NETCONF server: %s.", e)
        if endpoint is not None:
            endpoint.stop()
        service.stop()
        return 1

    logger.info("Ready: listening on address=%s port=%d.", server.address, server.port)
    received = signal.sigwait(STOP_SIGNALS)

    logger.info("Received %s; stopping.", signal.Signals(received).name)
    server.stop()
    if endpoint is not None:
        endpoint.stop()
    service.stop()
    logger.info("Stopped.")
    return 0


def _service(config: settings.Settings) -> tuple[Any, Any]:
    """The service, metered when metrics are on, and the metrics module (None when off)."""
    if not config.metrics.enabled:
        return Service(config), None

    # Imported only here: prometheus-client costs the daemon nothing while metrics are off.
    from k3s_netconf import metrics

    return metrics.MeteredService(config, metrics.Figures()), metrics


def _settings(args: argparse.Namespace) -> settings.Settings:
    path = args.settings or (DEFAULT_SETTINGS if DEFAULT_SETTINGS.exists() else None)
    loaded = settings.load(path) if path else settings.Settings()

    server = loaded.server
    if args.address is not None:
        server = dataclasses.replace(server, address=args.address)
    if args.port is not None:
        server = dataclasses.replace(server, port=args.port)
    log = loaded.log
    if args.log_level is not None:
        log = dataclasses.replace(log, level=args.log_level)
    return dataclasses.replace(loaded, server=server, log=log)


def _hash_password() -> int:
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if getpass.getpass("Password again: ") != password:
            print("k3s-netconfd: the passwords differ", file=sys.stderr)
            return 1
    else:
        password = sys.stdin.readline().rstrip("\r\n")

    encoded = password.encode("utf-8")
    if not encoded:
        print("k3s-netconfd: the password is empty", file=sys.stderr)
        return 1
    if len(encoded) > 72:
        # bcrypt reads no further than 72 bytes; a longer password could never be checked.
        print("k3s-netconfd: the password is longer than 72 bytes", file=sys.stderr)
        return 1

    print(bcrypt.hashpw(encoded, bcrypt.gensalt()).decode("ascii"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
