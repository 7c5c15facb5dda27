"""Where rollout datasets live: Minari dataset ids or plain directories, written atomically.

A dataset NAME is either a **Minari dataset id** (``[namespace/]name-vN``, e.g. ``pushbox-v0`` or
``worldsim/pushbox-random-v0``), stored under ``MINARI_DATASETS_PATH`` (default ``~/.minari/datasets``) where
``minari.load_dataset`` finds it, or a **directory** (anything else: a path such as ``outputs/pushbox``), which
then holds the Minari files (``data/main_data.hdf5``, ``data/metadata.json``).

Writing is atomic: the dataset is built in a hidden staging directory next to its destination and renamed into
place only once complete, so an interrupted recording leaves nothing that loads as a dataset (and a leftover
staging directory that :func:`dataset_path` never resolves to).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import minari

#: ``[namespace/]name-vN``: a Minari dataset id (anything else is a directory)
DATASET_ID = re.compile(r"^(?:[A-Za-z0-9_.-]+/)*[A-Za-z0-9_.-]+-v\d+$")


def is_dataset_id(name: str) -> bool:
    """Whether ``name`` is a Minari dataset id (not an existing directory, and of the form ``[ns/]name-vN``)."""
    return bool(DATASET_ID.match(name)) and not Path(name).expanduser().is_dir()


def minari_root() -> Path:
    """The folder of local Minari datasets: ``MINARI_DATASETS_PATH``, else ``~/.minari/datasets``."""
    return Path(os.environ.get("MINARI_DATASETS_PATH", Path.home() / ".minari" / "datasets"))


def dataset_path(name: str) -> Path:
    """The directory that holds (or will hold) dataset ``name``: ``<minari root>/<id>`` or the directory itself."""
    return (minari_root() / name if is_dataset_id(name) else Path(name).expanduser()).absolute()


def open_dataset(name: str) -> minari.MinariDataset:
    """Load the dataset ``name`` (a Minari id or a directory written by :func:`worldsim.data.record`).

    Raises:
        FileNotFoundError: no complete dataset there (an interrupted recording never leaves one).
    """
    if not isinstance(name, (str, os.PathLike)):
        raise TypeError(f"dataset name must be a string or path, got {type(name).__name__}")
    name = str(name)
    data = dataset_path(name) / "data"
    if not (data / "metadata.json").is_file():
        where = "Minari dataset id" if is_dataset_id(name) else "directory"
        raise FileNotFoundError(f"no dataset {name!r} ({where}, looked for {data / 'metadata.json'}); "
                                "record one with `worldsim record`")  # fmt: skip
    return minari.MinariDataset(str(data))


@contextlib.contextmanager
def _minari_root(root: Path) -> Iterator[None]:
    old = os.environ.get("MINARI_DATASETS_PATH")
    os.environ["MINARI_DATASETS_PATH"] = str(root)
    try:
        yield
    finally:
        if old is None:
            del os.environ["MINARI_DATASETS_PATH"]
        else:
            os.environ["MINARI_DATASETS_PATH"] = old


def _ensure_namespace(namespace: str) -> None:
    from minari import namespace as ns

    with _minari_root(minari_root()):
        if namespace not in ns.list_local_namespaces():
            ns.create_namespace(namespace)


def write_atomically(name: str, build: Callable[[str], minari.MinariDataset], *, files: dict[str, str] | None = None,
                     overwrite: bool = False) -> Path:  # fmt: skip
    """Create dataset ``name`` by ``build(dataset_id)`` (which calls ``minari.create_dataset_from_buffers``) in a
    staging directory beside the destination, add the text ``files`` ({file name: content}) beside Minari's
    ``data/`` folder, then rename it into place. Returns the dataset's directory.

    Raises:
        FileExistsError: the destination exists and ``overwrite`` is False.
    """
    final = dataset_path(name)
    if final.exists() and not overwrite:
        raise FileExistsError(f"dataset {name!r} already exists at {final}; pick another name or pass overwrite")
    final.parent.mkdir(parents=True, exist_ok=True)
    staging = final.parent / f".staging-{final.name}-{uuid.uuid4().hex[:8]}"
    as_id = is_dataset_id(name)
    staged_id = name if as_id else f"{final.name}-v0"  # a directory still needs a Minari id inside
    try:
        with _minari_root(staging):
            build(staged_id)
        built = staging / staged_id
        for fname, text in (files or {}).items():
            (built / fname).write_text(text)
        if final.exists():  # overwrite: move the old one aside first, so a crash never leaves neither
            old = final.parent / f".old-{final.name}-{uuid.uuid4().hex[:8]}"
            os.replace(final, old)
            os.replace(built, final)
            shutil.rmtree(old, ignore_errors=True)
        else:
            os.replace(built, final)
        if as_id and "/" in name:  # register the namespace the way Minari does, if new
            _ensure_namespace(name.rsplit("/", 1)[0])
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return final
