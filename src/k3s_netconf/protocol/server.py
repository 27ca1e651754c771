"""The SSH listener, its connections, and the registry of live NETCONF sessions.

Built on the ``netconf`` package's server and ``sshutil``'s connection, whose accept loops are
kept. What changes: the listener binds the configured address only; every connection runs its
SSH handshake in a thread of its own, with TCP_NODELAY, and an authenticator that knows the
peer; a connection that has no NETCONF session in it for a while is closed.
"""

from __future__ import annotations

import functools
import logging
import socket
import threading
import time
from typing import Any, Protocol

import paramiko
from lxml import etree
from netconf.server import NetconfSSHServer
from sshutil.server import SSHServerSocket

from k3s_netconf import logs, memory, monitoring
from k3s_netconf.protocol import auth, counting, hostkeys, messages, replies
from k3s_netconf.protocol.sessions import Session
from k3s_netconf.settings import Settings

logger = logging.getLogger(__name__)

# Seconds a connection may stay open without a NETCONF session once its last one ended,
# so that the client closes it itself after close-session.
LINGER = 5.0


class Backend(Protocol):
    """The service behind the protocol layer."""

    def capabilities(self) -> list[str]: ...

    def authorize(self, session: Any, operation: etree._Element) -> None: ...

    def handle(self, session: Any, operation: etree._Element) -> replies.Result: ...

    def session_ended(self, session: Any) -> None: ...


class Server(NetconfSSHServer):  # type: ignore[misc]
    """Listens as soon as it is made; ``stop`` ends every session and the listener."""

    def __init__(self, settings: Settings, service: Backend) -> None:
        self.settings = settings
        self.service = service
        self.users = auth.Users.from_settings(settings.users)
        self.capabilities = _capabilities(service)
        self.known_namespaces = frozenset(
            {messages.NC, messages.YANG, *messages.module_namespaces(self.capabilities)}
        )
        self.host_key = hostkeys.load_or_create(settings.server.host_key_path)
        self._registry_lock = threading.Lock()
        self._sessions: dict[int, Session] = {}
        self.tally = counting.ServerTally()
        self.trimmer = memory.Trimmer()
        self.trimmer.start()

        # The package's constructor is not called: it binds every address of the host whatever
        # the settings say and looks for host keys under /etc/ssh.
        self._prepare_package_state()
        self._accept(_listen(settings.server.address, settings.server.port))

    def _prepare_package_state(self) -> None:
        # What the package's accept loop and session-id counter read.
        self.debug = False
        self.extra_args = None
        # Each connection makes its own authenticator, which knows the peer.
        self.server_ctl = None
        # Operations go through the session's table and the service, never rpc_* methods.
        self.server_methods = None
        self.server_socket_class = Connection
        self.server_session_class = Session
        self.session_id = 1
        self.lock = threading.Lock()
        self.sockets: list[Connection] = []

    def _accept(self, listener: socket.socket) -> None:
        self.address, self.port = listener.getsockname()[:2]
        self.ports = {listener.family: self.port}
        self.close_wsocket, self.close_rsocket = socket.socketpair()
        # The package's accept loop, which makes a Connection per client.
        self.thread = threading.Thread(
            target=self._accept_socket_thread, args=(listener,), name="netconf accept", daemon=True
        )
        self.thread.start()

    def __del__(self) -> None:
        # The package logs an error when its server is collected; stop() is the way out here.
        pass

    def stop(self, timeout: float = 10.0) -> None:
        """Close every connection, which ends every session, and stop listening."""
        deadline = time.monotonic() + timeout
        # Taken first: a connection leaves the list as soon as its thread ends.
        with self.lock:
            connections = list(self.sockets)

        if self.thread.is_alive():
            # The package's close wakes the accept loop, which closes every connection.
            self.close()
            self.thread.join(timeout)
        for connection in connections:
            connection.close()

        # Wait for the threads, so that none is cut off half way when the process exits.
        threads = [c.thread for c in connections]
        threads += [s.thread for c in connections for s in list(c.sessions)]
        for thread in threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        self.close_wsocket.close()
        self.trimmer.stop()

    # The registry of live sessions

    def register(self, session: Session) -> None:
        with self._registry_lock:
            self._sessions[session.session_id] = session

    def unregister(self, session: Session) -> None:
        with self._registry_lock:
            self._sessions.pop(session.session_id, None)

    def find_session(self, session_id: int) -> Session | None:
        with self._registry_lock:
            return self._sessions.get(session_id)

    def snapshot(self) -> monitoring.Snapshot:
        """The statistics, and the sessions past their hello, in the order they began."""
        with self._registry_lock:
            sessions = sorted(self._sessions.values(), key=lambda s: s.session_id)
        views = [view for view in (s.view() for s in sessions) if view is not None]
        return monitoring.Snapshot(
            capabilities=list(self.capabilities),
            statistics=self.tally.statistics(),
            sessions=views,
        )

    def remove_socket(self, serversocket: Connection) -> None:
        # A connection may end before the accept loop has listed it.
        with self.lock:
            if serversocket in self.sockets:
                self.sockets.remove(serversocket)


class Connection(SSHServerSocket):  # type: ignore[misc]
    """One SSH connection: the handshake, then a session per channel that asks for netconf."""

    def __init__(
        self,
        server_ctl: Any,
        session_class: Any,
        extra_args: Any,
        server: Server,
        newsocket: socket.socket,
        addr: Any,
        debug: bool,
    ) -> None:
        # The package's constructor runs the SSH handshake in the thread that accepts every
        # client, so one slow client would hold back all others: here it runs in a thread of
        # the connection's own. Replies are written whole, so Nagle's delay buys nothing.
        newsocket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.server = server
        self.limits = server.settings.server
        self.client_socket: socket.socket | None = newsocket
        self.client_addr = addr
        self.peer = _peer(addr)
        self.debug = debug
        self.extra_args = extra_args
        self.policy = auth.Authenticator(server.users, self.peer)
        self.server_ctl = self.policy
        self.session_class = functools.partial(Session, connection=self)
        self.sessions: list[Session] = []
        self.lock = threading.Lock()
        self.running = True
        self.ssh: paramiko.Transport | None = None
        self.log = logs.peer_log(logger, self.peer)
        self._live: set[Session] = set()
        self._watchdog: threading.Timer | None = None

        self.thread = threading.Thread(target=self._run, name=f"ssh {self.peer}", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        self.log.debug("SSH connection accepted.")
        self._watch(self.limits.hello_timeout)
        try:
            self.ssh = self._handshake()
            # The package's loop: a session for every channel, until the connection ends.
            self._accept_chan_thread()
        except (paramiko.SSHException, EOFError, OSError) as e:
            self.log.info("The SSH connection failed: %s.", str(e) or type(e).__name__)
        finally:
            self.close()
            self.server.remove_socket(self)

    def _handshake(self) -> paramiko.Transport:
        assert self.client_socket is not None
        transport = paramiko.Transport(self.client_socket)
        transport.banner_timeout = self.limits.hello_timeout
        transport.handshake_timeout = self.limits.hello_timeout
        transport.add_server_key(self.server.host_key)
        transport.start_server(server=self.policy)
        return transport

    def session_started(self, session: Session) -> None:
        with self.lock:
            self._live.add(session)

    def session_ended(self, session: Session) -> None:
        with self.lock:
            self._live.discard(session)
            unused = self.running and not self._live
        if unused:
            self._watch(LINGER)

    def close(self) -> None:
        with self.lock:
            self.running = False
            sessions = list(self._live)
            transport = self.ssh
            client_socket = self.client_socket
        self._unwatch()

        for session in sessions:
            session.close()
        try:
            if transport is not None:
                transport.close()
        except (EOFError, OSError, paramiko.SSHException):
            # Saying goodbye to a peer that is gone fails; the socket closes all the same.
            pass
        if client_socket is not None:
            client_socket.close()

    # Connections without sessions

    def _watch(self, delay: float) -> None:
        """Close the connection unless it holds a session ``delay`` seconds from now."""
        timer = threading.Timer(delay, self._close_if_unused)
        timer.daemon = True
        with self.lock:
            previous, self._watchdog = self._watchdog, timer
        if previous is not None:
            previous.cancel()
        timer.start()

    def _unwatch(self) -> None:
        with self.lock:
            timer, self._watchdog = self._watchdog, None
        if timer is not None:
            timer.cancel()

    def _close_if_unused(self) -> None:
        with self.lock:
            if self._live or not self.running:
                return
        self.log.info("Closing the SSH connection: it holds no NETCONF session.")
        self.close()


def _capabilities(service: Backend) -> list[str]:
    uris = [messages.BASE_10, messages.BASE_11, *service.capabilities()]
    return list(dict.fromkeys(uris))


def _listen(address: str, port: int) -> socket.socket:
    family = socket.getaddrinfo(address, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)[0][
        0
    ]
    # "::" means every address, IPv4 ones too where the host allows it.
    dualstack = address == "::" and socket.has_dualstack_ipv6()
    return socket.create_server(
        (address, port), family=family, backlog=64, dualstack_ipv6=dualstack
    )


def _peer(addr: Any) -> str:
    host, port = addr[0], addr[1]
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
