"""What the file-store tests share (no tests here): stores opened on fresh
directories whose fixtures are hard links to one seeded copy (seeding writes
the 100 MiB fixture; fixtures are never written after seeding), uploads,
and directory listings."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

from bench_shared.files import fixtures
from bench_shared.files.meta import FileMeta, NewFile
from bench_shared.files.store import Store, StoreOptions

_seeded: str | None = None


def _template() -> str:
    """A store directory seeded once per test session."""
    global _seeded
    if _seeded is None:
        path = tempfile.mkdtemp(prefix="files-template-")
        atexit.register(shutil.rmtree, path, True)
        Store(StoreOptions(path, fsync=False))
        _seeded = path
    return _seeded


def open_store(path, **options) -> Store:
    """A store in `path` (fsync off unless asked), its fixtures linked from
    the seeded template when missing."""
    path = str(path)
    template = _template()
    for sub in ("files", "meta"):
        os.makedirs(os.path.join(path, sub), exist_ok=True)
    for f in fixtures.FIXTURES:
        for sub, name in (("files", f.id), ("meta", f"{f.id}.json")):
            target = os.path.join(path, sub, name)
            if not os.path.exists(target):
                os.link(os.path.join(template, sub, name), target)
    options.setdefault("fsync", False)
    return Store(StoreOptions(path, **options))


def new_file(category: str = "general", filename: str = "notes.txt") -> NewFile:
    """What an uploader says about a file."""
    return NewFile(filename, "text/plain", category, "d")


def staged(store: Store, data: bytes, chunk: int = 7):
    """An upload of `data` written in chunks of `chunk` bytes, finished."""
    upload = store.begin_upload()
    for at in range(0, len(data), chunk):
        upload.write(data[at:at + chunk])
    return upload.finish()


def put(store: Store, data: bytes, category: str = "general") -> FileMeta:
    """`data` uploaded and committed as one file."""
    return store.commit_all([(staged(store, data), new_file(category))])[0]


def names(path, sub: str) -> list[str]:
    """The names in `path/sub`, `.json` stripped, sorted."""
    out = [n[:-5] if n.endswith(".json") else n for n in os.listdir(os.path.join(path, sub))]
    return sorted(out)


def is_empty(path, sub: str) -> bool:
    """Whether `path/sub` is empty."""
    return not os.listdir(os.path.join(path, sub))
