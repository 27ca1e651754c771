"""A TCP and UDP echo service, and a client for it, run inside network namespaces.

    echo.py serve NAME PORT            answer "NAME:" + each message, on TCP and UDP
    echo.py ask tcp|udp HOST PORT MSG  print the answer; exit 1 without one

The server prints ``ready`` once both sockets listen. The client gives up after TIMEOUT
seconds, so every probe is bounded.
"""

from __future__ import annotations

import socket
import sys
import threading

TIMEOUT = 2.0


def serve(name: str, port: int) -> None:
    tcp = socket.create_server(("0.0.0.0", port))
    udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    udp.bind(("0.0.0.0", port))
    threading.Thread(target=_udp, args=(udp, name.encode()), daemon=True).start()
    print("ready", flush=True)

    while True:
        connection, _ = tcp.accept()
        threading.Thread(target=_tcp, args=(connection, name.encode()), daemon=True).start()


def _tcp(connection: socket.socket, name: bytes) -> None:
    with connection:
        connection.settimeout(TIMEOUT)
        data = connection.recv(4096)
        connection.sendall(name + b":" + data)


def _udp(udp: socket.socket, name: bytes) -> None:
    while True:
        data, peer = udp.recvfrom(4096)
        udp.sendto(name + b":" + data, peer)


def ask(protocol: str, host: str, port: int, message: str) -> int:
    try:
        answer = (
            _ask_tcp(host, port, message) if protocol == "tcp" else _ask_udp(host, port, message)
        )
    except OSError as e:
        print(f"no answer: {e}", file=sys.stderr)
        return 1
    print(answer.decode())
    return 0


def _ask_tcp(host: str, port: int, message: str) -> bytes:
    # The end of the message is told by closing the sending half; the answer ends when the
    # server closes, however many pieces it came in.
    with socket.create_connection((host, port), timeout=TIMEOUT) as connection:
        connection.sendall(message.encode())
        connection.shutdown(socket.SHUT_WR)
        answer = b""
        while piece := connection.recv(4096):
            answer += piece
        return answer


def _ask_udp(host: str, port: int, message: str) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        udp.settimeout(TIMEOUT)
        udp.connect((host, port))
        udp.send(message.encode())
        return udp.recv(4096)


if __name__ == "__main__":
    if sys.argv[1] == "serve":
        serve(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(ask(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5]))
