"""Runs k3s-netconfd with every Kubernetes API request it makes written to a file.

The daemon reaches the API server only through the Kubernetes client's REST object, so
wrapping its ``request`` counts every call, watches included, without changing the daemon.
Each line is ``METHOD URL START SECONDS THREAD`` (START on the daemon's monotonic clock); for
a watch the seconds cover only the response headers. The thread tells a request an rpc made
from one a background loop made meanwhile; the start, requests sent at once apart.

    python counted_daemon.py CALLS_FILE k3s-netconfd-arguments...
"""

from __future__ import annotations

import sys
import threading
import time
from typing import Any

from kubernetes.client import rest


def _install(path: str) -> None:
    log = open(path, "a", buffering=1)  # noqa: SIM115 - lives as long as the process
    lock = threading.Lock()
    original = rest.RESTClientObject.request

    def request(self: Any, method: str, url: str, *args: Any, **kwargs: Any) -> Any:
        start = time.monotonic()
        try:
            return original(self, method, url, *args, **kwargs)
        finally:
            with lock:
                thread = threading.current_thread().name
                seconds = time.monotonic() - start
                log.write(f"{method} {url} {start:.6f} {seconds:.6f} {thread}\n")

    rest.RESTClientObject.request = request  # type: ignore[method-assign]


if __name__ == "__main__":
    _install(sys.argv[1])
    from k3s_netconf import cli

    sys.exit(cli.main(sys.argv[2:]))
