"""Reading and reshaping OCI image archives for the image tests."""

from __future__ import annotations

import io
import json
import tarfile
from collections.abc import Callable
from pathlib import Path

MKIMAGE = Path(__file__).resolve().parents[2] / "tools" / "mkimage"

# The mkimage fixture: mkimage(ref, *options, out=None) -> archive path.
MkImage = Callable[..., Path]


def read_member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive) as tar:
        member = tar.extractfile(name)
        assert member is not None, f"{name} is not a file in {archive}"
        return member.read()


def read_index(archive: Path) -> dict:
    return json.loads(read_member(archive, "index.json"))


def manifest_digest(archive: Path) -> str:
    return read_index(archive)["manifests"][0]["digest"]


def blob(archive: Path, digest: str) -> bytes:
    return read_member(archive, "blobs/sha256/" + digest.removeprefix("sha256:"))


def blob_digests(archive: Path) -> set[str]:
    with tarfile.open(archive) as tar:
        names = [m.name for m in tar.getmembers() if m.isfile()]
    prefix = "blobs/sha256/"
    return {"sha256:" + n.removeprefix(prefix) for n in names if n.startswith(prefix)}


def rewrite_archive(source: Path, out: Path, files: dict[str, bytes]) -> Path:
    """Copy an archive, replacing or adding the given files (such as index.json)."""
    with tarfile.open(source) as old, tarfile.open(out, "w") as new:
        for member in old.getmembers():
            if member.name not in files:
                new.addfile(member, old.extractfile(member) if member.isfile() else None)
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            info.mode = 0o644
            new.addfile(info, io.BytesIO(data))
    return out


def with_index_entries(source: Path, out: Path, annotations: list[dict[str, str]]) -> Path:
    """Copy an archive whose index lists its manifest once per given annotation set."""
    index = read_index(source)
    entry = index["manifests"][0]
    index["manifests"] = [{**entry, "annotations": a} for a in annotations]
    return rewrite_archive(source, out, {"index.json": json.dumps(index).encode()})


def as_docker_archive(source: Path, out: Path, repo_tags: list[str]) -> Path:
    """Copy an OCI archive of mkimage as a docker-archive (manifest.json, no OCI layout)."""
    manifest = json.loads(blob(source, manifest_digest(source)))
    entry = {
        "Config": "blobs/sha256/" + manifest["config"]["digest"].removeprefix("sha256:"),
        "RepoTags": repo_tags,
        "Layers": [
            "blobs/sha256/" + layer["digest"].removeprefix("sha256:")
            for layer in manifest["layers"]
        ],
    }
    with tarfile.open(source) as old, tarfile.open(out, "w") as new:
        for member in old.getmembers():
            if member.name.startswith("blobs"):
                new.addfile(member, old.extractfile(member) if member.isfile() else None)
        data = json.dumps([entry]).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(data)
        new.addfile(info, io.BytesIO(data))
    return out
