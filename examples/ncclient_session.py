#!/usr/bin/env python3
"""A worked ncclient session: add an app, watch its Pod come up, read its logs, delete it.

    .venv/bin/python examples/ncclient_session.py --password PASSWORD [--port 830]

Run it against a server started by ``tools/run``, whose images folder holds busybox.tar.
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from lxml import etree
from ncclient import manager

KA = "urn:k3s-netconf:yang:apps"
HERE = Path(__file__).parent
STATE_FILTER = f"""<filter type="subtree">
  <apps xmlns="{KA}"><app><name>web</name><state/></app></apps>
</filter>"""
LOGS = f"""<action xmlns="urn:ietf:params:xml:ns:yang:1">
  <apps xmlns="{KA}"><app><name>web</name><logs><lines>5</lines></logs></app></apps>
</action>"""


def main() -> None:
    options = _options()
    with manager.connect(
        host=options.host, port=options.port, username=options.user, password=options.password,
        hostkey_verify=False, allow_agent=False, look_for_keys=False, timeout=90,
    ) as session:
        print("Session", session.session_id, "capabilities:")
        for capability in sorted(session.server_capabilities):
            print("  ", capability)

        print("\nAdding the image and the app 'web' ...")
        print(session.edit_config(target="running", config=_config("web-image.xml", "web-app.xml")))

        print("Waiting for its Pod to be ready ...")
        print(_wait_until_ready(session, timeout=60))

        print("The last lines it logged:")
        reply = session.dispatch(etree.fromstring(LOGS))
        print(etree.fromstring(reply.xml.encode()).findtext(f".//{{{KA}}}text"))

        print("Deleting the app ...")
        print(session.edit_config(target="running", config=_config("web-app-delete.xml")))


def _config(*files: str) -> str:
    """The files' elements in one <config>, as netconf-console2 --edit-config sends them."""
    body = "".join((HERE / name).read_text() for name in files)
    return f'<config xmlns="urn:ietf:params:xml:ns:netconf:base:1.0">{body}</config>'


def _wait_until_ready(session: manager.Manager, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    while True:
        state = session.get(filter=STATE_FILTER).data_ele
        if state.findtext(f".//{{{KA}}}pod/{{{KA}}}ready") == "true":
            return etree.tostring(state, pretty_print=True).decode()
        if time.monotonic() > deadline:
            raise SystemExit("the Pod did not become ready in time:\n" + etree.tostring(state).decode())
        time.sleep(1)


def _options() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=830)
    parser.add_argument("--user", default="admin")
    parser.add_argument("--password", required=True)
    return parser.parse_args()


if __name__ == "__main__":
    main()
