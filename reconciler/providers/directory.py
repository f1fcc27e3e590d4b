"""`directory`: a folder is the remote — an Asterisk/FreeSWITCH sounds folder,
or the quickstart's build dir. No account, no network.

Files are `<name>.<ext>` (ext from the sniffed format); the remote id is the
file name. Descriptions live in `.reconciler-index.json` in the folder,
because a sounds folder has nowhere else to keep them.

A copy is durable before apply records it: the file is fsynced before its
rename, and the folder after it. Each operation runs whole in a worker
thread — read, checked against the plan, written, fsynced, renamed, its
description noted, the folder synced — one hop from the event loop and back
per file. The folder sync (the index rewritten if descriptions changed, the
folder fsynced) is shared by the operations that changed the folder
meanwhile, led by one of their threads (ThreadGroupCommit).
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import os
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Literal, TypeVar

from pydantic import Field

from reconciler.atomic import atomic_write, fsync_folder, remove_stale_temps, replace_file
from reconciler.audio import NotAudioError, inspect_bytes, sha256_bytes, sniff_format
from reconciler.audio.inspect import inspect_file
from reconciler.documents import parse_json
from reconciler.errors import (
    ConfigError,
    NotFoundError,
    ProviderError,
    RemoteConflictError,
    SourceChangedError,
)
from reconciler.groupcommit import ThreadGroupCommit
from reconciler.inputs import (
    MAX_AUDIO_BYTES,
    InputError,
    check_write_folder,
    check_write_target,
    os_reason,
    read_file,
    real_path,
)
from reconciler.model import DesiredAsset, RemoteAsset
from reconciler.payload import PLAN_AGAIN, Payload, PayloadChanged, as_payload
from reconciler.providers.base import Capabilities, Provider
from reconciler.providers.settings import LocalPath, ProviderSettings

log = logging.getLogger(__name__)
T = TypeVar("T")

INDEX_FILE = ".reconciler-index.json"
MAX_INDEX_BYTES = 64 * 1024 * 1024  # descriptions of ~100,000 files; a bigger one is ignored
# files up to this size are read whole (one read) rather than in chunks
WHOLE_MAX = 1024 * 1024


def index_line(filename: str, description: str) -> str:
    return json.dumps(filename, ensure_ascii=False) + ": " + json.dumps(description, ensure_ascii=False)


def render_index(lines: dict[str, str]) -> bytes:
    """The index file: `json.dumps(dict(sorted(index.items())), indent=2,
    ensure_ascii=False)` and a newline, byte for byte, from each entry's line
    rendered once (`index_line`). The index is rewritten whole at each folder
    sync that changed a description: json.dumps with an indent, pure Python,
    cost 2.4 ms at 3,000 descriptions, the joined lines 0.4 ms."""
    if not lines:
        return b"{}\n"
    return ("{\n  " + ",\n  ".join(lines[name] for name in sorted(lines)) + "\n}\n").encode()


def _source(payload: Payload) -> bytes | Iterator[bytes]:
    """The payload's bytes, checked against the plan before the last of them
    is given: a small file read whole (one open, one read), a large one in chunks."""
    return payload.read() if payload.size <= WHOLE_MAX else payload.chunks()


class DirectorySettings(ProviderSettings):
    type: Literal["directory"]
    path: LocalPath = Field(description="Target folder, relative to the config file.")


class DirectoryProvider(Provider):
    type_name = "directory"
    settings_model = DirectorySettings
    summary = "A local or mounted folder (Asterisk/FreeSWITCH sounds dir); no account needed."
    capabilities = Capabilities(
        can_list=True,
        can_download=True,
        can_rename=True,
        can_describe=True,
        can_delete=True,
        can_overwrite=True,
        id_is_filename=True,
        unique_names=True,
        lists_sha256=True,
        lists_size=True,
        lists_description=True,
        lists_duration=False,
        max_concurrency=8,
        name_max_length=200,
        notes=("remote id = file name; descriptions in .reconciler-index.json",),
    )

    settings: DirectorySettings

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._folder_sync = ThreadGroupCommit(self._flush_folder)
        # the descriptions as this run last read or set them, read at the first
        # change (the lockfile lock keeps other applies out meanwhile).
        # `_index_dirty`: set and not yet written; `_entries_dirty`: a file
        # renamed, created or removed since the last folder sync began
        self._index_lock = threading.Lock()
        self._index: dict[str, str] | None = None
        self._index_lines: dict[str, str] = {}  # file name -> its line in the index file
        self._index_dirty = False
        self._entries_dirty = False
        self._root_ready = False

    def _flush_folder(self) -> None:
        """The index, if descriptions changed, then the folder's entries (the
        renames and unlinks before this call) on disk; nothing when nothing
        changed. In a worker thread, for the operations that share it."""
        with self._index_lock:
            body = self._index_body() if self._index_dirty else None
            entries = self._entries_dirty or body is not None
            self._index_dirty = self._entries_dirty = False
        try:
            if body is not None:
                atomic_write(self.root / INDEX_FILE, body)
            if entries:
                fsync_folder(self.root)
        except BaseException:
            with self._index_lock:  # the next sync tries again
                self._index_dirty = self._index_dirty or body is not None
                self._entries_dirty = True
            raise

    def _entries_changed(self) -> None:
        with self._index_lock:
            self._entries_dirty = True

    async def _in_thread(self, operation: str, job: Callable[[], T]) -> T:
        """`job` run in a worker thread, then the folder synced there (its
        entries and descriptions on disk) before it returns."""
        return await asyncio.to_thread(self._synced_after, operation, job)

    def _synced_after(self, operation: str, job: Callable[[], T]) -> T:
        result = job()
        try:
            self._folder_sync.commit()
        except OSError as exc:
            raise self._error(exc, operation) from None
        return result

    def _ready_root(self, target: str) -> None:
        """The folder exists and may be written to (checked once a run, not per file)."""
        if not self._root_ready:
            check_write_folder(self.root, target)
            self.root.mkdir(parents=True, exist_ok=True)
            self._root_ready = True

    @functools.cached_property
    def root(self) -> Path:
        # resolved once: every operation names files under it (a realpath is an lstat per component)
        return real_path(self.base_dir / self.settings.path)

    @property
    def label(self) -> str:
        return f"directory {self.instance}"

    def local_root(self) -> Path:
        return self.base_dir / self.settings.path

    def _error(self, exc: OSError, operation: str, cls: type[ProviderError] = ProviderError):
        return cls(
            f"{exc.strerror or exc} ({exc.filename or self.root})",
            provider=f"directory {self.instance}",
            operation=operation,
            hint=f"Check that {self.root} exists and is writable.",
        )

    def check_asset(self, asset: DesiredAsset) -> list[str]:
        problems = super().check_asset(asset)
        if "/" in asset.name or asset.name.startswith("."):
            problems.append("name must not contain '/' or start with '.' (it becomes a file name)")
        return problems

    # --- the index of descriptions --------------------------------------
    def _read_index(self) -> dict[str, str]:
        """The descriptions; empty when the index is missing or unreadable (it
        is rewritten whole on the next write, so a damaged one heals)."""
        try:
            index = parse_json(read_file(self.root / INDEX_FILE, limit=MAX_INDEX_BYTES))
        except InputError:
            return {}
        if not isinstance(index, dict):
            return {}
        return {k: v for k, v in index.items() if isinstance(v, str)}

    def _index_body(self) -> bytes:
        return render_index(self._index_lines)

    def _describe(self, filename: str, description: str | None) -> None:
        """Note `filename`'s description for the next folder sync to write
        (already so: no rewrite, and a folder of files without descriptions
        never gets an index). Any thread."""
        with self._index_lock:
            if self._index is None:
                self._index = self._read_index()
                self._index_lines = {name: index_line(name, text) for name, text in self._index.items()}
            if self._index.get(filename) == (description or None):
                return
            if description:
                self._index[filename] = description
                self._index_lines[filename] = index_line(filename, description)
            else:
                self._index.pop(filename, None)
                self._index_lines.pop(filename, None)
            self._index_dirty = True

    # --- operations -----------------------------------------------------
    async def recover(self) -> None:
        """A write killed before its rename leaves `.<file>.reconciler-XXXXXXXX.tmp`
        in the folder (never listed: dot-files are skipped); remove ours, only
        by that name, never a person's file."""
        if self.root.is_dir():
            for name in remove_stale_temps(self.root):
                log.info("directory %s: removed %s, left by an interrupted write", self.instance, name)

    async def list(self) -> list[RemoteAsset]:
        assets = self._list()
        log.info("%s: list %s -> %d audio file(s)", self.label, self.root, len(assets))
        return assets

    def _list(self) -> list[RemoteAsset]:
        try:
            is_dir = stat.S_ISDIR(os.stat(self.root).st_mode)
        except FileNotFoundError:
            return []  # created on the first apply
        except OSError as exc:
            raise ConfigError(
                f"directory {self.instance}: path {self.root} {os_reason(exc)}",
                hint="Point `path` at a folder (it is created on the first apply).",
            ) from None
        if not is_dir:
            raise ConfigError(
                f"directory {self.instance}: path {self.root} is not a folder",
                hint="Point `path` at a folder (it is created on the first apply).",
            )
        index = self._read_index()
        assets: list[RemoteAsset] = []
        try:
            entries = sorted(os.scandir(self.root), key=lambda e: e.name)
        except OSError as exc:
            raise self._error(exc, "list") from None
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                data = read_file(entry.path, limit=MAX_AUDIO_BYTES)
            except InputError as exc:
                if exc.missing or exc.special:
                    # removed while we listed, or a FIFO, device, folder, symlink
                    # loop or giant: not audio we could have written, never read
                    continue
                raise ProviderError(
                    f"{entry.path} {exc.reason}", provider=f"directory {self.instance}", operation="list",
                    hint=f"Make the files in {self.root} readable.",
                ) from None
            fmt = sniff_format(data[:16])
            if fmt is None:
                continue  # not audio: not ours to manage or prune
            stem = entry.name.rsplit(".", 1)[0]
            assets.append(
                RemoteAsset(
                    remote_id=entry.name,
                    name=stem,
                    description=index.get(entry.name, ""),
                    size=len(data),
                    sha256=sha256_bytes(data),
                    format=fmt,
                )
            )
        return assets

    def _filename(self, asset: DesiredAsset, name: str) -> str:
        ext = asset.audio.extension if asset.audio else "bin"
        return f"{name}.{ext}"

    def _remote(self, filename: str, data: bytes, description: str) -> RemoteAsset:
        try:
            info = inspect_bytes(data)
        except NotAudioError:
            info = None
        return RemoteAsset(
            remote_id=filename,
            name=filename.rsplit(".", 1)[0],
            description=description,
            size=len(data),
            sha256=sha256_bytes(data),
            format=info.format if info else None,
            duration=info.duration if info else None,
        )

    def _written(self, filename: str, asset: DesiredAsset, payload: Payload) -> RemoteAsset:
        """The file just written from `payload`. Its bytes are the planned ones
        (checked as they were copied), so the facts the config load read from
        them describe it; only bytes the load did not take for audio are read."""
        info = asset.audio
        if info is None:
            try:
                with open(self.root / filename, "rb") as fh:
                    info = inspect_file(fh, payload.size)
            except (NotAudioError, OSError):
                info = None
        return RemoteAsset(
            remote_id=filename,
            name=filename.rsplit(".", 1)[0],
            description=asset.description,
            size=payload.size,
            sha256=payload.digest(),
            format=info.format if info else None,
            duration=info.duration if info else None,
        )

    def _changed(self, exc: PayloadChanged, asset: DesiredAsset, operation: str) -> SourceChangedError:
        return SourceChangedError(
            str(exc), provider=self.label, operation=operation, address=asset.address,
            hint="Nothing was written. " + PLAN_AGAIN,
        )

    async def create(self, asset: DesiredAsset, data: bytes | Payload, *, name: str | None = None) -> RemoteAsset:
        filename = self._filename(asset, name or asset.name)
        payload = as_payload(data)
        remote = await self._in_thread("create", functools.partial(self._create_file, asset, filename, payload))
        log.info("%s: create %s (%d bytes)", self.label, filename, payload.size)
        return remote

    def _create_file(self, asset: DesiredAsset, filename: str, payload: Payload) -> RemoteAsset:
        """In a worker thread: the copy (checked against the plan before the
        rename), fsynced and renamed into place, its description noted (the
        folder is synced after it)."""
        target = os.path.join(self.root, filename)
        try:
            self._ready_root(target)
            if os.path.exists(target):
                raise RemoteConflictError(
                    f"{target} already exists",
                    provider=f"directory {self.instance}",
                    operation="create",
                    address=asset.address,
                )
            replace_file(target, _source(payload))
        except OSError as exc:
            raise self._error(exc, "create") from None
        except PayloadChanged as exc:
            raise self._changed(exc, asset, "create") from None
        self._entries_changed()
        self._describe(filename, asset.description)
        return self._written(filename, asset, payload)

    async def overwrite(self, remote_id: str, asset: DesiredAsset, data: bytes | Payload) -> RemoteAsset:
        filename = self._filename(asset, asset.name)
        payload = as_payload(data)
        remote = await self._in_thread(
            "overwrite", functools.partial(self._overwrite_file, remote_id, asset, filename, payload)
        )
        moved = f" (was {remote_id})" if filename != remote_id else ""
        log.info("%s: overwrite %s%s (%d bytes)", self.label, filename, moved, payload.size)
        return remote

    def _overwrite_file(self, remote_id: str, asset: DesiredAsset, filename: str, payload: Payload) -> RemoteAsset:
        """In a worker thread: the new copy in place of the old one."""
        target = os.path.join(self.root, filename)
        try:
            self._ready_root(target)
            check_write_target(target)
            replace_file(target, _source(payload))
            if filename != remote_id:  # the format changed, so the extension did too
                with contextlib.suppress(FileNotFoundError):
                    os.unlink(os.path.join(self.root, remote_id))
        except OSError as exc:
            raise self._error(exc, "overwrite") from None
        except PayloadChanged as exc:
            raise self._changed(exc, asset, "overwrite") from None
        self._entries_changed()
        if filename != remote_id:
            self._describe(remote_id, None)
        self._describe(filename, asset.description)
        return self._written(filename, asset, payload)

    async def update(self, remote_id: str, *, name: str, description: str) -> RemoteAsset:
        ext = remote_id.rsplit(".", 1)[1] if "." in remote_id else ""
        filename = f"{name}.{ext}" if ext else name
        remote = await self._in_thread("update", functools.partial(self._update_file, remote_id, filename, description))
        renamed = f" -> {filename}" if filename != remote_id else ""
        log.info("%s: update %s%s (description %r)", self.label, remote_id, renamed, description)
        return remote

    def _update_file(self, remote_id: str, filename: str, description: str) -> RemoteAsset:
        """In a worker thread: the rename and the description (synced after
        it, before apply records them)."""
        source, target = self.root / remote_id, self.root / filename
        try:
            if filename != remote_id:
                if target.exists():
                    raise RemoteConflictError(
                        f"cannot rename {remote_id} to {filename}: {target} exists",
                        provider=f"directory {self.instance}",
                        operation="rename",
                    )
                os.rename(source, target)
                self._entries_changed()
                self._describe(remote_id, None)
            self._describe(filename, description)
            data = self._read_file(target, "update")
        except FileNotFoundError as exc:
            raise self._error(exc, "update", NotFoundError) from None
        except OSError as exc:
            raise self._error(exc, "update") from None
        return self._remote(filename, data, description)

    def _read_file(self, path: Path, operation: str) -> bytes:
        try:
            return read_file(path, limit=MAX_AUDIO_BYTES)
        except InputError as exc:
            cls = NotFoundError if exc.missing else ProviderError
            raise cls(f"{path} {exc.reason}", provider=f"directory {self.instance}", operation=operation) from None

    async def delete(self, remote_id: str) -> None:
        await self._in_thread("delete", functools.partial(self._delete_file, remote_id))
        log.info("%s: delete %s", self.label, remote_id)

    def _delete_file(self, remote_id: str) -> None:
        """In a worker thread: the file and its description gone (the folder synced after it)."""
        try:
            os.unlink(os.path.join(self.root, remote_id))
        except FileNotFoundError:
            pass
        except OSError as exc:
            raise self._error(exc, "delete") from None
        else:
            self._entries_changed()
        self._describe(remote_id, None)

    async def download(self, remote_id: str) -> bytes:
        log.info("%s: download %s", self.label, remote_id)
        return self._read_file(self.root / remote_id, "download")
