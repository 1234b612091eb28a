"""MNIST from a folder of IDX files, from a local cache filled by download, or
from the 10% sample shipped inside the package."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import http.client
import json
import os
import shutil
import socket
import threading
import time
import urllib.error
import urllib.request
import warnings
import zlib
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
from sklearn.utils import Bunch

from .._files import atomic_path
from ._idx import load_idx

# Split -> (images file, labels file), the names MNIST has always had.
MNIST_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}
# SHA-256 of the *decompressed* files: mirrors compress differently.
MNIST_SHA256 = {
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}
MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
_MIRRORS_ENV = "SKMLP_MNIST_MIRRORS"
# A call of fetch_mnist gives up downloading after this long in all, and a
# file after this many bytes (the largest is 9.9 MB compressed, 47 MB not).
_DOWNLOAD_DEADLINE = 900.0
_DOWNLOAD_MAX_BYTES = 64 << 20
# Bytes asked of the mirror per read: small, so that the deadline is checked
# often however slowly the bytes come.
_READ_SIZE = 1 << 16
# Files of the cache whose SHA-256 was checked, with the size and mtime they
# had then: a file that still has them is not hashed again.
_VERIFIED = ".verified.json"
# A partial download older than this is left over from a killed process.
_STALE_PART_SECONDS = 3600
_DATA_HOME_ENV = "SKMLP_DATA"


def pixel_names(image_shape: Sequence[int]) -> np.ndarray:
    """Column names of flattened images: ``pixel_0`` ... ``pixel_783`` for 28x28."""
    return np.array(
        [f"pixel_{i}" for i in range(int(np.prod(image_shape)))], dtype=object
    )


def get_data_home(data_home: str | os.PathLike | None = None) -> str:
    """The folder where skmlp caches downloaded data sets, as scikit-learn's.

    By order of precedence: ``data_home``, the ``SKMLP_DATA`` environment
    variable (unless empty), or ``~/skmlp_data``. The folder is created if
    needed.

    Returns
    -------
    str
        The folder's path.
    """
    if data_home is None:
        # An empty SKMLP_DATA is unset, not the current folder.
        data_home = os.environ.get(_DATA_HOME_ENV, "").strip() or "~/skmlp_data"
    path = Path(data_home).expanduser()
    if not path.is_dir():  # a read-only cache that exists is still usable
        path.mkdir(parents=True, exist_ok=True)
    return str(path)


def clear_data_home(data_home: str | os.PathLike | None = None) -> None:
    """Delete the data cache (MNIST's files, JAX's compiled programs) and all in it.

    Parameters
    ----------
    data_home : str or path-like, default=None
        The folder; see :func:`get_data_home`.
    """
    shutil.rmtree(get_data_home(data_home))


def _find(directory: Path, name: str) -> Path | None:
    """The IDX file ``name`` (or ``name.gz``) in ``directory``, or None.

    Raises IsADirectoryError when only a folder has that name (archives of
    MNIST often unpack each file into a folder named after it).
    """
    folders = []
    for candidate in (directory / f"{name}.gz", directory / name):
        if candidate.is_file():
            return candidate
        if candidate.is_dir():
            folders.append(candidate)
    if not folders:
        return None
    inside = [p for p in (folders[0] / name, folders[0] / f"{name}.gz") if p.is_file()]
    hint = f"; the file inside it ({inside[0]}) can take its place" if inside else ""
    raise IsADirectoryError(
        f"MNIST file {name}: {folders[0]} is a folder, where the IDX file itself "
        f"should be{hint}."
    )


def _as_frame(images: np.ndarray, labels: np.ndarray):
    import pandas as pd

    flat = images.reshape(len(images), -1)
    X = pd.DataFrame(flat, columns=pixel_names(images.shape[1:]))
    return X, pd.Series(labels, name="label")


def load_mnist(directory: str | os.PathLike, *, as_frame: bool = False):
    """Load MNIST's training and test sets from the four IDX files in a folder.

    Parameters
    ----------
    directory : str or path-like
        Holds ``train-images-idx3-ubyte``, ``train-labels-idx1-ubyte``,
        ``t10k-images-idx3-ubyte`` and ``t10k-labels-idx1-ubyte``, each
        plain or with ``.gz``.
    as_frame : bool, default=False
        Return pandas objects: images flattened into a DataFrame with
        columns ``pixel_0`` ... ``pixel_783`` and labels as a Series.

    Returns
    -------
    (X_train, y_train), (X_test, y_test)
        As Keras' ``mnist.load_data()`` returns them: uint8 images of shape
        (n, 28, 28) and uint8 labels of shape (n,).

    Raises
    ------
    FileNotFoundError
        When a file is missing, naming it.
    IsADirectoryError
        When a folder has a file's name, naming it.
    ValueError
        When a file is not valid IDX, or images and labels differ in count.

    Examples
    --------
    >>> from skmlp.datasets import load_mnist
    >>> (X_train, y_train), (X_test, y_test) = load_mnist("data/mnist")  # doctest: +SKIP
    >>> X_train.shape, y_train[:5]  # doctest: +SKIP
    ((60000, 28, 28), array([5, 0, 4, 1, 9], dtype=uint8))
    """
    directory = Path(directory)
    splits = []
    for split, (images_name, labels_name) in MNIST_FILES.items():
        paths = [_find(directory, name) for name in (images_name, labels_name)]
        missing = [
            name
            for name, p in zip((images_name, labels_name), paths, strict=True)
            if p is None
        ]
        if missing:
            raise FileNotFoundError(
                f"MNIST file {missing[0]} (or {missing[0]}.gz) not found in {directory}."
            )
        images, labels = load_idx(paths[0]), load_idx(paths[1])
        if images.ndim != 3 or labels.ndim != 1:
            raise ValueError(
                f"{directory}: expected images of shape (n, rows, cols) and labels of "
                f"shape (n,), got {images.shape} and {labels.shape}."
            )
        if len(images) != len(labels):
            raise ValueError(
                f"{directory}: the {split} set has {len(images)} images but "
                f"{len(labels)} labels."
            )
        splits.append(_as_frame(images, labels) if as_frame else (images, labels))
    return splits[0], splits[1]


def load_mnist_sample(*, return_X_y: bool = False, as_frame: bool = False):
    """A stratified 10% sample of MNIST shipped inside skmlp: works offline.

    6,000 training and 1,000 test images with MNIST's class proportions
    (largest remainder per class), byte-identical to their rows in the
    original files and kept in their original order;
    ``tools/make_mnist_sample.py`` in the source repository rebuilds it. A
    784-128-128-10 ReLU network reaches about 0.93-0.95 test accuracy on it
    in a few epochs (0.98 on full MNIST).

    MNIST is by Yann LeCun, Corinna Cortes and Christopher J. C. Burges, and
    is available under the Creative Commons Attribution-Share Alike 3.0
    licence; the sample is shared under the same terms.

    Parameters
    ----------
    return_X_y : bool, default=False
        Return Keras' ``(X_train, y_train), (X_test, y_test)`` (as
        :func:`load_mnist` does, the labs' form) instead of a ``Bunch``.
    as_frame : bool, default=False
        pandas objects: ``data``/``data_test`` DataFrames with columns
        ``pixel_0`` ... ``pixel_783``, ``target``/``target_test`` Series, and
        ``frame`` (the training data and target in one DataFrame).

    Returns
    -------
    data : Bunch
        As scikit-learn's loaders return it: ``data`` (the training images
        flattened, uint8, shape (6000, 784)), ``target``, ``images`` (shape
        (6000, 28, 28)), the same for the test set as ``data_test``,
        ``target_test`` and ``images_test``, ``feature_names``,
        ``target_names``, ``frame`` (None unless ``as_frame``) and
        ``DESCR``. With ``return_X_y=True``,
        ``(X_train, y_train), (X_test, y_test)``.

    Examples
    --------
    >>> from skmlp.datasets import load_mnist_sample
    >>> mnist = load_mnist_sample()
    >>> mnist.data.shape, mnist.images.shape, mnist.data_test.shape
    ((6000, 784), (6000, 28, 28), (1000, 784))
    >>> (X_train, y_train), (X_test, y_test) = load_mnist_sample(return_X_y=True)
    >>> X_train.shape
    (6000, 28, 28)
    """
    with resources.as_file(resources.files("skmlp.datasets") / "data") as folder:
        if return_X_y:
            return load_mnist(folder, as_frame=as_frame)
        splits = load_mnist(folder)
    return _bunch(
        splits, as_frame, "A stratified 10% sample of MNIST, bundled with skmlp."
    )


_DESCR = """
MNIST handwritten digits: 28x28 greyscale images (uint8, 0-255) of the
digits 0-9, 60,000 for training and 10,000 for testing, by Yann LeCun,
Corinna Cortes and Christopher J. C. Burges (Creative Commons
Attribution-Share Alike 3.0). ``data``/``target`` are the training set,
``data_test``/``target_test`` the test set (MNIST's own split); ``images``
and ``images_test`` keep the 28x28 shape. Scale pixels to [0, 1] before
training (``skmlp.datasets.to_features``).
"""


def _bunch(splits, as_frame: bool, origin: str) -> Bunch:
    """scikit-learn's ``Bunch`` of MNIST's two splits, as loaders return it."""
    (images, labels), (test_images, test_labels) = splits
    names = pixel_names(images.shape[1:])
    bunch = Bunch(
        data=images.reshape(len(images), -1),
        target=labels,
        images=images,
        data_test=test_images.reshape(len(test_images), -1),
        target_test=test_labels,
        images_test=test_images,
        feature_names=list(names),
        target_names=np.arange(10),
        frame=None,
        DESCR=origin + "\n" + _DESCR,
    )
    if as_frame:
        bunch.data, bunch.target = _as_frame(images, labels)
        bunch.data_test, bunch.target_test = _as_frame(test_images, test_labels)
        bunch.frame = bunch.data.assign(label=bunch.target)
    return bunch


SAMPLE_FALLBACK = (
    "MNIST is not cached and could not be downloaded; training on the bundled 10% "
    "sample. Use --data DIR for your own IDX files."
)


def get_mnist(directory: str | os.PathLike | None = None, *, dataset: str = "auto"):
    """MNIST from wherever it can be had: a folder, the cache, or the sample.

    Parameters
    ----------
    directory : str or path-like, default=None
        A folder with the four IDX files; when given, it is used.
    dataset : {"auto", "mnist", "sample"}, default="auto"
        Without ``directory``: "mnist" is :func:`fetch_mnist` (cache or
        download), "sample" is :func:`load_mnist_sample`, and "auto" tries
        the first and falls back to the second with a ``UserWarning``.

    Returns
    -------
    data : ((X_train, y_train), (X_test, y_test))
    source : str
        Where the data came from, for reports.
    """
    if directory is not None:
        return load_mnist(directory), f"MNIST from {directory}"
    if dataset not in ("auto", "mnist", "sample"):
        raise ValueError(
            f"dataset must be 'auto', 'mnist' or 'sample'; got {dataset!r}"
        )
    if dataset != "sample":
        try:
            data = fetch_mnist(return_X_y=True)
            return data, f"MNIST from the cache in {Path(get_data_home()) / 'mnist'}"
        except OSError:
            if dataset == "mnist":
                raise
            warnings.warn(SAMPLE_FALLBACK, UserWarning, stacklevel=2)
    return load_mnist_sample(return_X_y=True), "the bundled 10% MNIST sample"


def _mirrors(mirrors: Sequence[str] | None) -> list[str]:
    if mirrors is None:
        from_env = os.environ.get(_MIRRORS_ENV)
        mirrors = from_env.split(",") if from_env else MNIST_MIRRORS
    return [m if m.endswith("/") else m + "/" for m in mirrors if m]


def _sha256_of_content(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as probe:
        compressed = probe.read(2) == b"\x1f\x8b"
    with gzip.open(path, "rb") if compressed else open(path, "rb") as stream:
        while chunk := stream.read(1 << 20):
            digest.update(chunk)
    return digest.hexdigest()


class _DeadlinePassed(OSError):
    """The call's time for downloading is spent: no mirror is tried after it."""


class _Deadline:
    """One call's time for downloading, whatever the mirrors' pace."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.end = time.monotonic() + seconds

    def remaining(self) -> float:
        return self.end - time.monotonic()

    def check(self) -> None:
        if self.remaining() <= 0:
            raise _DeadlinePassed(f"gave up after {self.seconds:g} s")


def _opener(sockets: list) -> urllib.request.OpenerDirector:
    """urllib's opener, adding each connection's socket to ``sockets``."""

    class HTTPConnection(http.client.HTTPConnection):
        def connect(self):
            super().connect()
            sockets.append(self.sock)

    class HTTPSConnection(http.client.HTTPSConnection):
        def connect(self):
            super().connect()
            sockets.append(self.sock)

    class HTTPHandler(urllib.request.HTTPHandler):
        def http_open(self, req):
            return self.do_open(HTTPConnection, req)

    class HTTPSHandler(urllib.request.HTTPSHandler):
        def https_open(self, req):
            return self.do_open(HTTPSConnection, req)

    return urllib.request.build_opener(HTTPHandler, HTTPSHandler)


def _shut(sockets: list) -> None:
    """End every wait on these sockets: their reads return at once."""
    for sock in sockets:
        with contextlib.suppress(OSError):  # closed already
            # socket.socket's own shutdown: an SSL socket's would also drop
            # its TLS state under a read still running in the other thread.
            socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _download(
    url: str, target: Path, expected_sha256: str, timeout: float, deadline: _Deadline
) -> None:
    """Download ``url`` to ``target`` atomically, or leave nothing behind.

    Reads are small and the deadline is checked after each; a watchdog shuts
    the connection down when the deadline passes, so that no single wait (a
    header or a read dripped one byte at a time) outlasts it either.
    """
    deadline.check()
    sockets: list = []
    watchdog = threading.Timer(deadline.remaining(), _shut, args=(sockets,))
    watchdog.daemon = True
    watchdog.start()
    try:
        with atomic_path(target) as tmp:
            received, expected_length = _receive(
                url, tmp, min(timeout, deadline.remaining()), deadline, sockets
            )
            if expected_length is not None and received != int(expected_length):
                raise OSError(
                    f"transfer cut off after {received} of {expected_length} bytes"
                )
            try:
                actual = _sha256_of_content(tmp)
            except (OSError, EOFError, zlib.error) as exc:  # a gzip cut off or mangled
                raise OSError(f"corrupt download ({exc})") from None
            if actual != expected_sha256:
                raise OSError(
                    f"checksum mismatch (SHA-256 {actual[:12]}..., expected {expected_sha256[:12]}...)"
                )
    finally:
        watchdog.cancel()


def _receive(url, tmp: Path, timeout: float, deadline: _Deadline, sockets: list):
    """Write what ``url`` answers into ``tmp``: (bytes received, announced)."""
    try:
        with (
            open(tmp, "wb") as out,
            _opener(sockets).open(url, timeout=max(timeout, 0.001)) as response,
        ):
            expected_length = response.headers.get("Content-Length")
            received = 0
            read = getattr(response, "read1", response.read)  # read1: what came
            while chunk := read(_READ_SIZE):
                out.write(chunk)
                received += len(chunk)
                if received > _DOWNLOAD_MAX_BYTES:
                    raise OSError(f"more than {_DOWNLOAD_MAX_BYTES} bytes: not MNIST")
                deadline.check()
    except _DeadlinePassed:
        raise
    except (OSError, http.client.HTTPException, ValueError):
        deadline.check()  # the watchdog's doing: say the deadline passed
        raise
    deadline.check()  # the watchdog ends a read as the end of the data would
    return received, expected_length


def fetch_mnist(
    data_home: str | os.PathLike | None = None,
    *,
    download_if_missing: bool = True,
    mirrors: Sequence[str] | None = None,
    return_X_y: bool = False,
    as_frame: bool = False,
    timeout: float = 30.0,
):
    """Load MNIST from the local cache, downloading it there first if needed.

    Works like scikit-learn's ``fetch_*`` functions. Each file is tried on
    every mirror in turn; a download is written under a temporary name and
    moved into the cache only once the SHA-256 of its decompressed content
    matches MNIST's, so an interrupted or corrupted download never leaves a
    file that a later call would trust. Cached files are checked against the
    same checksums (once per file: its size and modification time are
    remembered where the cache is writable) and fetched again if they do not
    match. A complete cache is used as it is from a read-only folder. A call
    gives up downloading after 15 minutes in all, however slowly a mirror
    answers, and a file after 64 MB.

    Parameters
    ----------
    data_home : str or path-like, default=None
        Cache folder; see :func:`get_data_home`. The files go in its
        ``mnist`` sub-folder.
    download_if_missing : bool, default=True
        If False, raise ``OSError`` instead of downloading.
    mirrors : list of str, default=None
        Base URLs to try in order. None takes the ``SKMLP_MNIST_MIRRORS``
        environment variable (comma-separated) or the public mirrors in
        ``MNIST_MIRRORS``.
    return_X_y : bool, default=False
        Return Keras' ``(X_train, y_train), (X_test, y_test)`` (as
        :func:`load_mnist` does, the labs' form) instead of a ``Bunch``.
    as_frame : bool, default=False
        pandas objects: see :func:`load_mnist` and the ``Bunch`` below.
    timeout : float, default=30.0
        Seconds to wait for a mirror before trying the next.

    Returns
    -------
    data : Bunch
        scikit-learn's form (see :func:`load_mnist_sample` for its fields);
        or, with ``return_X_y=True``, ``(X_train, y_train), (X_test, y_test)``.

    Raises
    ------
    OSError
        When a file is neither cached nor downloadable; the message says
        where to put the files by hand.
    """
    deadline = _Deadline(_DOWNLOAD_DEADLINE)
    folder = _cache_folder(data_home)
    writable = os.access(folder, os.W_OK)
    if writable:  # a read-only cache is used as it is: nothing written, or tried
        _remove_stale_parts(folder)
    for name, sha256 in MNIST_SHA256.items():
        cached = _find(folder, name)
        if cached is not None:
            if _verified(cached, sha256, record=writable):
                continue
            why = f"the cached {cached.name} did not match MNIST's checksum"
        else:
            why = "it is not cached"
        if not download_if_missing:
            raise OSError(_not_available(name, folder, f"{why} and downloads are off"))
        if not writable:
            raise OSError(
                f"MNIST file {name}.gz must be downloaded ({why}), but skmlp's data "
                f"cache {folder} is not writable; pass data_home= or set "
                f"{_DATA_HOME_ENV} to a writable folder, or put the four MNIST IDX "
                f"files there by hand."
            )
        if cached is not None:
            # Not MNIST's content (corrupt, truncated or replaced): fetch it again.
            cached.unlink()
        errors = []
        for mirror in _mirrors(mirrors):
            try:
                _download(
                    f"{mirror}{name}.gz",
                    folder / f"{name}.gz",
                    sha256,
                    timeout,
                    deadline,
                )
                _record_verified(folder / f"{name}.gz", sha256)
                break
            except _DeadlinePassed as exc:  # for the whole call: no mirror after it
                errors.append(f"{mirror}: {exc}")
                raise OSError(_not_available(name, folder, "; ".join(errors))) from None
            except (OSError, http.client.HTTPException, ValueError) as exc:
                errors.append(f"{mirror}: {exc}")
        else:
            raise OSError(
                _not_available(
                    name, folder, "every mirror failed: " + "; ".join(errors)
                )
            )
    if return_X_y:
        return load_mnist(folder, as_frame=as_frame)
    return _bunch(load_mnist(folder), as_frame, f"MNIST, from {folder}.")


def _cache_folder(data_home) -> Path:
    """The cache's ``mnist`` folder, or an OSError that names it."""
    try:
        folder = Path(get_data_home(data_home)) / "mnist"
        if not folder.is_dir():
            folder.mkdir()
    except OSError as exc:
        where = (
            exc.filename
            or data_home
            or os.environ.get(_DATA_HOME_ENV, "").strip()
            or "~/skmlp_data"
        )
        raise OSError(
            f"cannot use {where} as skmlp's data cache ({exc.strerror or exc}); "
            f"pass data_home= or set {_DATA_HOME_ENV} to a writable folder."
        ) from None
    return folder


def _remove_stale_parts(folder: Path) -> None:
    now = time.time()
    for part in folder.glob(".*.part"):
        try:
            if now - part.stat().st_mtime > _STALE_PART_SECONDS:
                part.unlink()
        except OSError:
            pass  # another process's, or already gone


def _stamp(path: Path, sha256: str) -> dict:
    stat = path.stat()
    return {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "sha256": sha256}


def _records(folder: Path) -> dict:
    try:
        records = json.loads((folder / _VERIFIED).read_text())
    except (OSError, ValueError):
        return {}
    return records if isinstance(records, dict) else {}


def _record_verified(path: Path, sha256: str) -> None:
    records = _records(path.parent)
    records[path.name] = _stamp(path, sha256)
    try:
        with atomic_path(path.parent / _VERIFIED) as tmp:
            tmp.write_text(json.dumps(records, indent=1))
    except OSError:
        pass  # a read-only cache still works; it hashes again next time


def _verified(path: Path, sha256: str, *, record: bool = True) -> bool:
    """Whether ``path`` holds the content of that SHA-256 (hashing it once,
    if ``record``: a read-only cache hashes it at each call)."""
    if _records(path.parent).get(path.name) == _stamp(path, sha256):
        return True
    try:
        ok = _sha256_of_content(path) == sha256
    except (OSError, EOFError, zlib.error):
        ok = False
    if ok and record:
        _record_verified(path, sha256)
    return ok


def _not_available(name: str, folder: Path, why: str) -> str:
    return (
        f"MNIST file {name}.gz could not be had ({why}). Put the four MNIST IDX "
        f"files ({', '.join(n + '.gz' for n in MNIST_SHA256)}) in {folder}, or "
        f"load your own copy with skmlp.datasets.load_mnist(directory)."
    )
