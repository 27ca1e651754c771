"""The actions a commit is made of, each one a value the executor knows how to perform."""

from __future__ import annotations

from dataclasses import dataclass

from k3s_netconf import desired


@dataclass(frozen=True)
class ImportImage:
    image: desired.Image

    def __str__(self) -> str:
        return f"import image {self.image.name!r} from {self.image.archive!r}"


@dataclass(frozen=True)
class RemoveImage:
    name: str

    def __str__(self) -> str:
        return f"remove image {self.name!r}"


@dataclass(frozen=True)
class ApplyApp:
    app: desired.App

    def __str__(self) -> str:
        return f"apply app {self.app.name!r}"


@dataclass(frozen=True)
class DeleteApp:
    name: str

    def __str__(self) -> str:
        return f"delete app {self.name!r}"


@dataclass(frozen=True)
class ApplyForwarding:
    """Install the forwarding table for exactly these rules (none: remove the table)."""

    forwards: tuple[desired.Forward, ...]

    def __str__(self) -> str:
        return f"apply the port forwarding table with {len(self.forwards)} rule(s)"


Action = ImportImage | RemoveImage | ApplyApp | DeleteApp | ApplyForwarding


@dataclass(frozen=True)
class Step:
    """An action and the action that takes it back, when there is one."""

    action: Action
    undo: Action | None = None
