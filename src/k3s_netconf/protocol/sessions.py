"""One NETCONF session: the hello exchange, then one rpc after another until it ends.

Each session runs in a thread of its own. The message layer (framing, XML, message-id, the
one operation element) is checked here; ``close-session`` and ``kill-session`` are answered
here because they concern sessions; every other operation goes to the service, which owns
datastores and locks.

The ``netconf`` package's session is extended rather than used as is: it runs the hello
exchange in the thread that accepts the connection's channels, dispatches by method names
built from the operation's local name (so a get-config in any namespace passes for one), and
turns Python exceptions into error text for the client.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import paramiko
from lxml import etree
from netconf import base
from netconf.error import ChannelClosed
from netconf.server import NetconfServerSession

from k3s_netconf import errors, logs, monitoring
from k3s_netconf.protocol import counting, framing, messages, outbox, replies
from k3s_netconf.protocol.messages import BASE_11, NC

if TYPE_CHECKING:
    from k3s_netconf.protocol.server import Connection, Server

logger = logging.getLogger(__name__)

INTERNAL_ERROR = "internal error, see the server log"

# How much of each message the DEBUG log shows.
LOGGED_BYTES = 4000

Operation = Callable[[etree._Element], replies.Result]


class EndSession(Exception):
    """The session must end; the message says why."""


class Session(NetconfServerSession):  # type: ignore[misc]
    def __init__(
        self,
        channel: paramiko.Channel,
        server: Server,
        extra_args: Any,
        debug: bool,
        *,
        connection: Connection,
    ) -> None:
        self.connection = connection
        self.limits = server.settings.server
        self.username: str = channel.get_transport().get_username() or ""
        self._closing = False
        self._killed = False
        self._ended = False
        self.tally = counting.Tally(counting.RPC_COUNTERS)
        self.login_time: datetime | None = None
        self._end_lock = threading.Lock()
        self._send_lock = threading.Lock()
        self.operations: dict[str, Operation] = {
            f"{{{NC}}}close-session": self._close_session,
            f"{{{NC}}}kill-session": self._kill_session,
        }

        connection.session_started(self)

        # NetconfServerSession's own constructor would run the package's hello exchange in
        # the caller's thread; only the generic session state comes from the package.
        self.server: Server = server
        self.methods = server.server_methods
        base.NetconfSession.__init__(self, channel, debug, server._allocate_session_id())
        self._adopt_channel()
        self.log = logs.session_log(logger, self.session_id, self.username)
        self._outbox = outbox.Outbox(
            self._send_notification, f"netconf notifications {self.session_id}", self.log
        )

        self.thread = threading.Thread(
            target=self._run, name=f"netconf session {self.session_id}", daemon=True
        )
        self.thread.start()

    def __str__(self) -> str:
        return f"session {self.session_id} of {self.username!r}"

    def __del__(self) -> None:
        # Sessions end through close(); being collected must not end one a second time.
        pass

    def _adopt_channel(self) -> None:
        # Move the channel from the package's transport into ours, taking it away from the
        # old one so that collecting that one does not close the channel.
        channel, self.pkt_stream.stream = self.pkt_stream.stream, None
        self.pkt_stream: framing.FramingTransport = framing.FramingTransport(
            channel, self.limits.max_message_bytes
        )

    # The life of a session

    def _run(self) -> None:
        try:
            self._start()
            self._serve()
        except Exception as e:  # noqa: BLE001 - the top of the thread: any error ends the session
            self._log_end(e)
        self._close_from_thread()

    def _log_end(self, error: Exception) -> None:
        if self._ended:
            # Ended from elsewhere (kill-session, shutdown), which logged it.
            return

        if isinstance(error, (EndSession, framing.FramingError, messages.BadHello)):
            self.log.warning("Closing the session: %s.", error)
        elif isinstance(error, TimeoutError):
            self.log.info("Closing the session: %s.", self._timeout_reason())
        elif isinstance(error, (ChannelClosed, EOFError, OSError, paramiko.SSHException)):
            self.log.info("The client went away: %s.", str(error) or type(error).__name__)
        else:
            self.log.error("Closing the session after an unexpected error.", exc_info=error)

    def _close_from_thread(self) -> None:
        # Nobody above this thread would hear of an error here; the log does.
        try:
            self.close()
        except Exception:
            self.log.exception("Ending the session failed.")

    def _start(self) -> None:
        # Listed from the moment its session-id is handed out, so kill-session can reach it.
        self.server.register(self)
        self.pkt_stream.deadline = time.monotonic() + self.limits.hello_timeout
        channel = self.pkt_stream.stream
        if not self.connection.policy.wait_for_subsystem(channel, self.limits.hello_timeout):
            raise EndSession("the client did not ask for the netconf subsystem in time")

        # The server's hello goes first; it never waits for the client's.
        self.send_message(replies.hello(self.server.capabilities, self.session_id))
        # RFC 6022 counts a session as started once the server's hello with its id went out.
        self.server.tally.add("in_sessions")
        try:
            self.capabilities = messages.parse_hello(self.pkt_stream.receive_pdu(False))
        except messages.BadHello:
            self.server.tally.add("in_bad_hellos")
            raise

        # Chunked framing from the next message on, when both sides speak base:1.1.
        self.new_framing = BASE_11 in self.capabilities
        self.pkt_stream.deadline = None
        self.pkt_stream.timeout = self.limits.idle_timeout or None
        self.session_open = True
        self.login_time = datetime.now(UTC)
        self.log.info(
            "Session opened from %s with %s framing.",
            self.connection.peer,
            "chunked" if self.new_framing else "end-of-message",
        )

    def _serve(self) -> None:
        while not self._closing:
            self._reader_handle_message(self.pkt_stream.receive_pdu(self.new_framing))
            self.server.trimmer.ask()

    def _timeout_reason(self) -> str:
        if self.session_open:
            return f"idle for more than {self.limits.idle_timeout:g} s"
        return f"no hello within {self.limits.hello_timeout:g} s"

    # One message

    def _reader_handle_message(self, msg: bytes) -> None:
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("Received %s", _excerpt(msg))

        try:
            rpc = messages.parse_rpc(msg)
        except errors.MalformedMessage as e:
            self._count("in_bad_rpcs")
            if not self.new_framing:
                # base:1.0 has no malformed-message error; closing is what remains.
                raise EndSession(e.message) from e
            self.log.info("Answering a malformed message: %s.", e.message)
            reply = replies.rpc_reply(None)
            replies.add_errors(reply, e)
            self._count("out_rpc_errors")
            self.send_message(reply)
            return

        subscribing = messages.is_subscription(rpc)
        if subscribing:
            self._outbox.hold()
        try:
            self.send_message(self._answer(rpc))
        finally:
            if subscribing:
                self._outbox.release()

    def _answer(self, rpc: etree._Element) -> etree._Element | bytes:
        reply = replies.rpc_reply(rpc)
        try:
            result = self._execute(rpc)
        except errors.NetconfError as e:
            self.log.debug("The rpc failed: %s", e)
            replies.add_errors(reply, e)
            self._count("out_rpc_errors")
        except Exception:
            self.log.exception("An rpc failed with an unexpected error.")
            replies.add_errors(reply, errors.OperationFailed(INTERNAL_ERROR))
            self._count("out_rpc_errors")
        else:
            return replies.with_result(reply, result)
        return reply

    def _execute(self, rpc: etree._Element) -> replies.Result:
        try:
            messages.check_message_id(rpc)
            operation = messages.operation(rpc, self.server.known_namespaces)
        except errors.NetconfError:
            # RFC 6022: an rpc the rpc layer refuses is a bad one, not one more rpc.
            self._count("in_bad_rpcs")
            raise

        self._count("in_rpcs")
        # Access control comes first, also for the operations on sessions (RFC 8341 3.4.4).
        self.server.service.authorize(self, operation)
        handler = self.operations.get(operation.tag, self._delegate)
        return handler(operation)

    def _delegate(self, operation: etree._Element) -> replies.Result:
        with logs.acting_for(self.session_id):
            return self.server.service.handle(self, operation)

    # Operations on sessions

    def _close_session(self, operation: etree._Element) -> None:
        messages.only_parameters(operation, set())
        # The <ok/> goes out first; the loop then ends and close() releases the session.
        self._closing = True
        self.log.info("The client closes the session.")

    def _kill_session(self, operation: etree._Element) -> None:
        messages.only_parameters(operation, {"session-id"})
        target_id = messages.session_id_of(operation)
        if target_id == self.session_id:
            raise errors.InvalidValue(
                "a session cannot kill itself; close-session ends it",
                error_type="protocol",
                info={"bad-element": "session-id"},
            )

        target = self.server.find_session(target_id)
        if target is None:
            raise errors.InvalidValue(
                f"there is no session {target_id}",
                error_type="protocol",
                info={"bad-element": "session-id"},
            )

        # Its locks are released before the <ok/>, so the caller may take them right away.
        target.log.warning("Killed by session %d of %r.", self.session_id, self.username)
        target._killed = True
        target.close()

    # Counting

    def _count(self, name: str) -> None:
        self.tally.add(name)
        self.server.tally.add(name)

    def view(self) -> monitoring.SessionView | None:
        """What /netconf-state/sessions shows of this session; None before its hello."""
        if self.login_time is None:
            return None
        return monitoring.SessionView(
            session_id=self.session_id,
            username=self.username,
            source_host=self.connection.client_addr[0],
            login_time=self.login_time,
            counters=self.tally.counters(),
        )

    def snapshot(self) -> monitoring.Snapshot:
        return self.server.snapshot()

    # Sending and ending

    def send_message(self, msg: etree._Element | bytes) -> None:
        data = msg if isinstance(msg, bytes) else replies.serialized(msg)
        if self.log.isEnabledFor(logging.DEBUG):
            self.log.debug("Sending %s", _excerpt(data))

        with self._send_lock:
            self.pkt_stream.send_pdu(data, self.new_framing)

    def notify(self, notification: etree._Element) -> None:
        """Queue a notification of the session's subscription; never waits for the client."""
        self._outbox.put(notification)

    def _send_notification(self, notification: etree._Element) -> None:
        self.send_message(notification)
        self._count("out_notifications")

    def close(self) -> None:
        """End the session, from its own thread or another's; only the first call acts."""
        with self._end_lock:
            if self._ended:
                return
            self._ended = True

        was_open, self.session_open = self.session_open, False
        self._outbox.close()
        self.server.unregister(self)
        if was_open and not (self._closing or self._killed):
            # RFC 6022: neither close-session nor kill-session drops a session.
            self.server.tally.add("dropped_sessions")
        if was_open:
            self._release()

        channel = self.pkt_stream.stream
        try:
            self.pkt_stream.close()
        except (EOFError, OSError, paramiko.SSHException):
            # Closing a channel sends a message; a peer that is gone cannot take it.
            pass
        if channel is not None:
            self.connection.policy.forget_channel(channel)
        self.connection.session_ended(self)
        if was_open:
            self.log.info("Session closed.")

    def _release(self) -> None:
        try:
            self.server.service.session_ended(self)
        except Exception:
            self.log.exception("Releasing what the session held failed.")


def _excerpt(data: bytes) -> str:
    text = data[:LOGGED_BYTES].decode("utf-8", errors="replace")
    return text if len(data) <= LOGGED_BYTES else f"{text}... ({len(data)} bytes)"
