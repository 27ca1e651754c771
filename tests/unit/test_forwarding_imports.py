"""pyroute2 is imported only once the forwarder has links to survey: a rule, or links to make."""

import json
import subprocess
import sys
import textwrap

ABSENT = "network namespace 'k3nc-absent-imports' (management_namespace) does not exist"

# A fresh interpreter, so that no other test has imported pyroute2 already. The management
# namespace does not exist, so nothing is run in one and no root is needed.
SCRIPT = textwrap.dedent(
    """
    import json
    import sys

    from k3s_netconf import cli, errors
    from k3s_netconf.desired import Forward
    from k3s_netconf.network.forwarding import Forwarder
    from k3s_netconf.settings import NetworkSettings

    def seen():
        print(json.dumps(["pyroute2" in sys.modules, list(forwarder.state().problems)]))

    settings = NetworkSettings(
        management_namespace="k3nc-absent-imports", create_missing=sys.argv[1] == "create"
    )
    forwarder = Forwarder(settings, dict, current=lambda: True)
    forwarder.install(())
    seen()
    try:
        forwarder.install((Forward("tcp", 8080, "echo", "tcp", 7007),))
    except errors.OperationFailed:
        pass
    seen()
    """
)


def run(*argv: str) -> list[list[object]]:
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines()]


def test_the_daemon_without_rules_never_imports_pyroute2_and_the_first_rule_does():
    assert run("check") == [[False, [ABSENT]], [True, [ABSENT]]]


def test_links_to_complete_are_surveyed_without_rules():
    assert run("create") == [[True, [ABSENT]], [True, [ABSENT]]]
