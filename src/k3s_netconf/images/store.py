"""The images containerd holds for the kubelet, changed only through ``ctr``.

The kubelet never pulls on the device, so an image a Pod runs must already be in containerd's
``k8s.io`` namespace under the exact reference the Pod names. ``ImageStore`` imports archives
under such references, lists them and removes them. Whether an image may be removed (no app
uses it) is the caller's decision.
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Protocol

from k3s_netconf import errors
from k3s_netconf.images.archive import archive_names, check_sha256, open_archive
from k3s_netconf.images.ctr import Ctr, ImageRow

logger = logging.getLogger(__name__)

# Set on each image this store imports; containerd's CLI shows no import time of its own.
IMPORTED_AT_LABEL = "k3s-netconf.imported-at"

# ctr prints "unpacking <name> (<digest>)...done" for each image an import wrote.
_UNPACKED = re.compile(r"^unpacking (\S+) \([a-z0-9]+:[0-9a-f]+\)\.\.\.", re.MULTILINE)

_INDEX_TYPES = (
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
)


@dataclass(frozen=True)
class ImageInfo:
    """One image as containerd has it.

    ``digest`` is that of the image's manifest or index. ``size`` is the bytes of its content
    in containerd's store (index, manifests, configs, layers as archived, not unpacked), or
    ``None`` when containerd lacks the manifest to tell. ``imported_at`` is known for images
    this store imported, else ``None``.
    """

    ref: str
    digest: str
    size: int | None
    platforms: tuple[str, ...] = ()
    imported_at: datetime | None = None


class ImageSettingsLike(Protocol):
    containerd_address: str
    ctr: tuple[str, ...]
    import_timeout: float


class ImageStore:
    """Import, list and remove images of one containerd namespace through ``ctr``."""

    def __init__(
        self,
        address: str,
        ctr: str | Sequence[str] = "ctr",
        namespace: str = "k8s.io",
        timeout: float = 60.0,
        import_timeout: float = 300.0,
        snapshotter: str | None = None,
    ) -> None:
        command = (ctr,) if isinstance(ctr, str) else tuple(ctr)
        self._ctr = Ctr(address, command, namespace, timeout)
        self._import_timeout = import_timeout
        self._snapshotter = snapshotter
        # Imports compare the image list before and after, so two must not interleave.
        self._lock = threading.Lock()
        # Content is addressed by digest and never changes, so sizes can be kept for good.
        self._sizes: dict[str, int] = {}

    @classmethod
    def from_settings(cls, images: ImageSettingsLike) -> ImageStore:
        return cls(images.containerd_address, images.ctr, import_timeout=images.import_timeout)

    @property
    def address(self) -> str:
        return self._ctr.address

    def list(self) -> dict[str, ImageInfo]:
        """Every image of the namespace by reference."""
        return {row.ref: self._info(row) for row in self._ctr.images()}

    def import_archive(
        self, ref: str, archive: Path, sha256: str | None = None, *, error_path: str | None = None
    ) -> ImageInfo:
        """Import ``archive`` and make sure it gave the image ``ref``.

        With ``sha256``, a mismatching archive is refused before containerd sees it. An archive
        that names images but not ``ref``, or that would re-point another existing image, is
        refused the same way. If containerd still names no ``ref`` (an archive whose names only
        containerd knows), the images it created are removed again. Other images the archive
        created besides ``ref`` are removed too, so an import leaves exactly ``ref`` behind.
        """
        with self._lock, open_archive(archive, error_path=error_path) as file:
            if sha256 is not None:
                check_sha256(file, sha256, archive, error_path=error_path)

            before = {row.ref: row.digest for row in self._ctr.images()}
            names = archive_names(file)
            self._check_names(ref, archive, names, before, error_path)
            imported = self._run_import(archive, file, error_path)

            # ctr reports each image it wrote; without that report the names read above decide.
            named = ref in imported if imported else names is not None and ref in names
            return self._keep_only(ref, named, archive, before, error_path)

    def remove(self, ref: str, *, error_path: str | None = None) -> None:
        """Remove ``ref``; an image that is not there is no error, so removal can be repeated."""
        with self._lock:
            if ref not in {row.ref for row in self._ctr.images()}:
                logger.debug("Image %r is not in containerd; nothing to remove.", ref)
                return
            self._remove(ref, error_path)
            logger.info("Removed image %r from containerd at %r.", ref, self.address)

    def _check_names(
        self,
        ref: str,
        archive: Path,
        names: dict[str, str | None] | None,
        present: dict[str, str],
        error_path: str | None,
    ) -> None:
        if not names:
            return

        if ref not in names:
            raise errors.InvalidValue(
                f"archive {str(archive)!r} does not carry image {ref!r}; it carries "
                f"{', '.join(sorted(names))}",
                path=error_path,
            )

        # An archive may carry other names too; it must not silently replace another image.
        for name, digest in names.items():
            if name != ref and name in present and digest != present[name]:
                raise errors.InvalidValue(
                    f"archive {str(archive)!r} also carries image {name!r}, which containerd "
                    "already has with other content; importing it would replace that image",
                    path=error_path,
                )

    def _run_import(self, archive: Path, file: IO[bytes], error_path: str | None) -> set[str]:
        """Import from the open archive; return the names ctr reports it wrote."""
        options = ["--snapshotter", self._snapshotter] if self._snapshotter else []
        # Fed from the file already opened and hashed, so containerd gets exactly those bytes.
        file.seek(0)
        try:
            output = self._ctr.run(
                "images", "import", *options, "-", stdin=file, timeout=self._import_timeout
            )
        except errors.OperationFailed as e:
            raise errors.OperationFailed(
                f"importing archive {str(archive)!r} failed: {e.message}", path=error_path
            ) from e
        return set(_UNPACKED.findall(output))

    def _keep_only(
        self, ref: str, named: bool, archive: Path, before: dict[str, str], error_path: str | None
    ) -> ImageInfo:
        rows = {row.ref: row for row in self._ctr.images()}
        created = sorted(set(rows) - set(before))

        extra = [name for name in created if name != ref]
        for name in extra:
            self._remove(name, error_path)
            logger.info(
                "Removed image %r, which importing archive %r created besides %r.",
                name,
                str(archive),
                ref,
            )

        if not named or ref not in rows:
            removed = f"; it named {', '.join(extra)}, removed again" if extra else ""
            kept = f"; the image {ref!r} already there is unchanged" if ref in before else ""
            raise errors.InvalidValue(
                f"importing archive {str(archive)!r} gave no image {ref!r}{removed}{kept}",
                path=error_path,
            )

        row = self._label_imported(rows[ref])
        info = self._info(row)
        logger.info(
            "Imported image %r from archive %r with digest %r (%s bytes).",
            ref,
            str(archive),
            info.digest,
            info.size,
        )
        return info

    def _label_imported(self, row: ImageRow) -> ImageRow:
        now = datetime.now(UTC).replace(microsecond=0)
        stamp = now.isoformat().replace("+00:00", "Z")
        try:
            self._ctr.run("images", "label", row.ref, f"{IMPORTED_AT_LABEL}={stamp}")
        except errors.OperationFailed as e:
            # The image is imported and usable; only its import time will be unknown.
            logger.warning("Could not record the import time of image %r: %s", row.ref, e.message)
            return row
        return ImageRow(
            row.ref,
            row.media_type,
            row.digest,
            row.platforms,
            {**row.labels, IMPORTED_AT_LABEL: stamp},
        )

    def _remove(self, ref: str, error_path: str | None) -> None:
        try:
            # --sync waits for containerd's garbage collection, so the space is free on return.
            self._ctr.run("images", "rm", "--sync", ref)
        except errors.OperationFailed as e:
            raise errors.OperationFailed(
                f"removing image {ref!r} failed: {e.message}", path=error_path
            ) from e

    def _info(self, row: ImageRow) -> ImageInfo:
        return ImageInfo(
            ref=row.ref,
            digest=row.digest,
            size=self._known_size(row),
            platforms=row.platforms,
            imported_at=_parse_time(row.labels.get(IMPORTED_AT_LABEL)),
        )

    def _known_size(self, row: ImageRow) -> int | None:
        # One damaged image must not hide the others from a listing.
        try:
            return self._size(row.digest, row.media_type)
        except (errors.OperationFailed, ValueError) as e:
            logger.warning("Cannot tell the size of image %r: %s", row.ref, e)
            return None

    def _size(self, digest: str, media_type: str) -> int:
        """Bytes of a manifest or index with everything it references that is stored locally."""
        if digest not in self._sizes:
            blob = self._content(digest)
            self._sizes[digest] = len(blob) + self._children_size(json.loads(blob), media_type)
        return self._sizes[digest]

    def _children_size(self, document: dict, media_type: str) -> int:
        if media_type in _INDEX_TYPES or "manifests" in document:
            # An archive for several platforms may hold the content of only some of them.
            stored = self._stored_digests()
            return sum(
                self._size(child["digest"], child.get("mediaType", ""))
                for child in document.get("manifests") or []
                if child.get("digest") in stored
            )

        descriptors = [document.get("config") or {}, *(document.get("layers") or [])]
        return sum(int(d.get("size", 0)) for d in descriptors)

    def _content(self, digest: str) -> bytes:
        return self._ctr.output("content", "get", digest)

    def _stored_digests(self) -> set[str]:
        return set(self._ctr.run("content", "ls", "-q").split())


def _parse_time(text: str | None) -> datetime | None:
    if not text:
        return None
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        return None
