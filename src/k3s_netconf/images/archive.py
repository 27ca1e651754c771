"""Image archives on the device: where they may be, whether they are intact, what they name.

Archives are read only from the configured images folder, so a NETCONF client cannot make the
daemon read arbitrary files. Reading the names an archive carries before importing it lets the
store refuse a wrong archive without touching containerd at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import stat
import tarfile
from pathlib import Path, PurePosixPath
from typing import IO

from k3s_netconf import errors

# containerd 1.6 names an image after this annotation of an index.json entry first...
ANNOTATION_CONTAINERD_NAME = "io.containerd.image.name"
# ...and otherwise after this one, used as is only when it is a full reference.
ANNOTATION_OCI_REF_NAME = "org.opencontainers.image.ref.name"

_SHA256_HEX = re.compile(r"^[0-9a-f]{64}$")
_CHUNK = 1024 * 1024


def resolve_archive(path: str, images_dir: Path, *, error_path: str | None = None) -> Path:
    """Return the real path of an archive, refusing any that lies outside ``images_dir``.

    A relative path resolves under the folder; an absolute one must be inside it. Symbolic
    links are followed before the check, so a link inside the folder cannot point out of it.
    """
    if not path or "\0" in path:
        raise errors.InvalidValue(f"archive path {path!r} is empty or not a path", path=error_path)

    root = images_dir.resolve()
    candidate = Path(path) if Path(path).is_absolute() else root / path
    resolved = candidate.resolve()

    if not resolved.is_relative_to(root):
        raise errors.InvalidValue(
            f"archive path {path!r} is outside the images folder {str(root)!r}", path=error_path
        )
    return resolved


def open_archive(archive: Path, *, error_path: str | None = None) -> IO[bytes]:
    """Open an archive for reading, or say why it cannot be used."""
    try:
        file = archive.open("rb")
    except FileNotFoundError as e:
        raise errors.InvalidValue(
            f"archive {str(archive)!r} does not exist", path=error_path
        ) from e
    except OSError as e:
        raise errors.InvalidValue(
            f"archive {str(archive)!r} cannot be read: {e.strerror}", path=error_path
        ) from e

    # Checked on the open file, so the file read is the file checked.
    if not stat.S_ISREG(os.fstat(file.fileno()).st_mode):
        file.close()
        raise errors.InvalidValue(
            f"archive {str(archive)!r} is not a regular file", path=error_path
        )
    return file


def check_sha256(
    file: IO[bytes], expected: str, archive: Path, *, error_path: str | None = None
) -> None:
    """Refuse the archive unless its SHA-256 is ``expected`` (64 hex digits, "sha256:" optional)."""
    want = expected.lower().removeprefix("sha256:")
    if not _SHA256_HEX.match(want):
        raise errors.InvalidValue(
            f"{expected!r} is not a SHA-256 of 64 hexadecimal digits", path=error_path
        )

    digest = hashlib.sha256()
    file.seek(0)
    while chunk := file.read(_CHUNK):
        digest.update(chunk)

    if digest.hexdigest() != want:
        raise errors.InvalidValue(
            f"archive {str(archive)!r} has SHA-256 {digest.hexdigest()}, not the expected {want}; "
            "it was not imported",
            path=error_path,
        )


def archive_names(file: IO[bytes]) -> dict[str, str | None] | None:
    """The image names containerd will give the archive's images, each with its digest if known.

    ``None`` means the format is not recognised here; containerd then decides alone. Docker
    archives get ``None`` digests, since containerd writes their manifests during the import.
    """
    members = _read_members(file, ("oci-layout", "index.json", "manifest.json"))
    if members is None:
        return None

    try:
        if "oci-layout" in members and "index.json" in members:
            return _oci_names(json.loads(members["index.json"]))
        if "manifest.json" in members:
            return _docker_names(json.loads(members["manifest.json"]))
    except (ValueError, TypeError, AttributeError):
        return None
    return None


def _read_members(file: IO[bytes], wanted: tuple[str, ...]) -> dict[str, bytes] | None:
    found: dict[str, bytes] = {}
    file.seek(0)
    try:
        with tarfile.open(fileobj=file, mode="r:*") as tar:
            for member in tar:
                name = str(PurePosixPath(member.name))
                extracted = tar.extractfile(member) if name in wanted and member.isfile() else None
                if extracted is not None:
                    found[name] = extracted.read()
    except (tarfile.TarError, EOFError, OSError):
        return None
    finally:
        file.seek(0)
    return found


def _oci_names(index: dict) -> dict[str, str | None]:
    names: dict[str, str | None] = {}
    for entry in index.get("manifests") or []:
        annotations = entry.get("annotations") or {}
        name = annotations.get(ANNOTATION_CONTAINERD_NAME, "")
        ref_name = annotations.get(ANNOTATION_OCI_REF_NAME, "")
        # A bare tag in the OCI annotation becomes "import-<date>:<tag>", never a usable name.
        if not name and any(c in ref_name for c in "/:@"):
            name = ref_name
        if name:
            names[name] = entry.get("digest")
    return names


def _docker_names(manifest: list) -> dict[str, str | None]:
    return {
        normalize_reference(tag): None for entry in manifest for tag in entry.get("RepoTags") or []
    }


def normalize_reference(name: str) -> str:
    """Expand a short Docker reference the way containerd does: busybox -> docker.io/library/..."""
    first, _, rest = name.partition("/")
    if not rest or ("." not in first and ":" not in first and first != "localhost"):
        first, rest = "docker.io", name
    if first == "docker.io" and "/" not in rest:
        rest = "library/" + rest

    last = rest.rsplit("/", 1)[-1]
    if ":" not in last and "@" not in last:
        rest += ":latest"
    return f"{first}/{rest}"
