"""MNIST from a folder, and the fetcher against a real HTTP server on 127.0.0.1."""

import gzip
import hashlib
import http.server
import threading

import numpy as np
import pandas as pd
import pytest

from skmlp.datasets import fetch_mnist, get_data_home, load_mnist
from skmlp.datasets._mnist import MNIST_SHA256

SHARED_SHA256 = {  # from ../shared/data/README.md
    "train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
}


def test_real_files_match_the_published_checksums(mnist_dir):
    for name, sha in SHARED_SHA256.items():
        content = gzip.decompress((mnist_dir / f"{name}.gz").read_bytes())
        assert hashlib.sha256(content).hexdigest() == sha == MNIST_SHA256[name]


def test_load_mnist_from_folder(mnist_dir):
    (X_train, y_train), (X_test, y_test) = load_mnist(mnist_dir)
    assert X_train.shape == (60000, 28, 28) and X_train.dtype == np.uint8
    assert X_test.shape == (10000, 28, 28)
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert np.bincount(y_test).tolist() == [
        980,
        1135,
        1032,
        1010,
        982,
        892,
        958,
        1028,
        974,
        1009,
    ]


def test_load_mnist_as_frame_and_uncompressed(tmp_path, mnist_dir):
    for name in SHARED_SHA256:  # plain files this time
        (tmp_path / name).write_bytes(
            gzip.decompress((mnist_dir / f"{name}.gz").read_bytes())
        )
    (X, y), _ = load_mnist(tmp_path, as_frame=True)
    assert isinstance(X, pd.DataFrame) and X.shape == (60000, 784)
    assert X.columns[0] == "pixel_0" and X.columns[-1] == "pixel_783"
    assert isinstance(y, pd.Series) and y.name == "label" and y.iloc[0] == 5


def test_load_mnist_checks_counts_and_files(tmp_path, mnist_dir):
    from skmlp.datasets import save_idx

    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte"):
        load_mnist(tmp_path)
    save_idx(tmp_path / "train-images-idx3-ubyte", np.zeros((3, 2, 2), np.uint8))
    save_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(2, np.uint8))
    save_idx(tmp_path / "t10k-images-idx3-ubyte", np.zeros((1, 2, 2), np.uint8))
    save_idx(tmp_path / "t10k-labels-idx1-ubyte", np.zeros(1, np.uint8))
    with pytest.raises(ValueError, match="train set has 3 images but 2 labels"):
        load_mnist(tmp_path)


# -- fetch_mnist against a local server ---------------------------------------


@pytest.fixture(scope="module")
def mirror(mnist_dir):
    """A real HTTP server on 127.0.0.1 with four kinds of mirror:

    /good/ serves the files, /down/ answers 503, /corrupt/ serves a valid gzip
    of altered content, /cutoff/ announces the full length and stops halfway.
    """
    files = {
        f"{name}.gz": (mnist_dir / f"{name}.gz").read_bytes() for name in SHARED_SHA256
    }
    requests = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            kind, _, name = self.path.strip("/").partition("/")
            if kind == "down" or name not in files:
                self.send_error(503 if kind == "down" else 404)
                return
            body = files[name]
            if kind == "corrupt":
                content = bytearray(gzip.decompress(body))
                content[-1] ^= 0xFF
                body = gzip.compress(bytes(content), compresslevel=1)  # fast
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body[: len(body) // 2] if kind == "cutoff" else body)
            if kind == "cutoff":
                self.wfile.flush()
                self.close_connection = True

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}"
    yield base, requests
    server.shutdown()
    server.server_close()


def _cache_files(home):
    folder = home / "mnist"
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if not p.name.startswith("."))


def test_fetch_falls_back_to_the_next_mirror_then_uses_the_cache(tmp_path, mirror):
    base, requests = mirror
    requests.clear()
    mnist = fetch_mnist(tmp_path, mirrors=[f"{base}/down/", f"{base}/good/"])
    X_train, y_train = mnist.images, mnist.target  # scikit-learn's Bunch
    assert X_train.shape == (60000, 28, 28) and y_train[:5].tolist() == [5, 0, 4, 1, 9]
    assert mnist.data.shape == (60000, 784) and mnist.data_test.shape == (10000, 784)
    assert _cache_files(tmp_path) == sorted(f"{n}.gz" for n in SHARED_SHA256)
    assert sum(r.startswith("/down/") for r in requests) == 4
    requests.clear()
    fetch_mnist(tmp_path, mirrors=[f"{base}/good/"])
    assert requests == []  # second call: all from the cache


@pytest.mark.parametrize(
    ("kind", "message"),
    [("corrupt", "checksum mismatch"), ("cutoff", "cut off|IncompleteRead|corrupt")],
)
def test_failed_download_leaves_nothing_behind(tmp_path, mirror, kind, message):
    base, _ = mirror
    with pytest.raises(OSError, match=message) as info:
        fetch_mnist(tmp_path, mirrors=[f"{base}/{kind}/"])
    assert str(tmp_path / "mnist") in str(info.value)  # says where to put the files
    assert _cache_files(tmp_path) == []


def test_a_cached_file_of_other_content_is_fetched_again(tmp_path, mirror):
    from skmlp.datasets import save_idx

    base, requests = mirror
    fetch_mnist(tmp_path, mirrors=[f"{base}/good/"])
    labels = tmp_path / "mnist" / "train-labels-idx1-ubyte.gz"
    save_idx(labels, np.zeros(60000, np.uint8))  # valid IDX, wrong content
    (tmp_path / "mnist" / "t10k-images-idx3-ubyte.gz").write_bytes(b"garbage")
    requests.clear()
    (_, y_train), (X_test, _) = fetch_mnist(
        tmp_path, mirrors=[f"{base}/good/"], return_X_y=True
    )
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9] and X_test.shape == (10000, 28, 28)
    assert sorted(requests) == [
        "/good/t10k-images-idx3-ubyte.gz",
        "/good/train-labels-idx1-ubyte.gz",
    ]
    requests.clear()
    fetch_mnist(tmp_path, mirrors=[f"{base}/good/"])
    assert requests == []
    save_idx(labels, np.zeros(60000, np.uint8))
    with pytest.raises(
        OSError, match="did not match MNIST's checksum and downloads are off"
    ):
        fetch_mnist(tmp_path, download_if_missing=False)


def test_an_unusable_cache_folder_is_named(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.raises(OSError, match="not-a-folder.*as skmlp's data cache"):
        fetch_mnist(blocker, download_if_missing=False)


def test_offline_with_nothing_cached_says_where_to_put_the_files(tmp_path, monkeypatch):
    with pytest.raises(OSError, match="downloads are off") as info:
        fetch_mnist(tmp_path, download_if_missing=False)
    assert f"in {tmp_path / 'mnist'}" in str(info.value)
    # A mirror nobody listens on: what a machine with no network sees.
    monkeypatch.setenv("SKMLP_MNIST_MIRRORS", "http://127.0.0.1:9/")
    with pytest.raises(
        OSError, match="every mirror failed.*Put the four MNIST IDX files"
    ):
        fetch_mnist(tmp_path, timeout=5)
    assert _cache_files(tmp_path) == []


def test_data_home_follows_argument_then_environment(tmp_path, monkeypatch):
    from skmlp.datasets import clear_data_home

    monkeypatch.setenv("SKMLP_DATA", str(tmp_path / "from_env"))
    assert get_data_home() == str(tmp_path / "from_env")  # a str, as scikit-learn's
    assert get_data_home(tmp_path / "arg") == str(tmp_path / "arg")
    assert (tmp_path / "arg").is_dir()
    (tmp_path / "arg" / "mnist").mkdir()
    clear_data_home(tmp_path / "arg")
    assert not (tmp_path / "arg").exists()


def test_stale_partial_downloads_are_removed(tmp_path):
    import os
    import time

    folder = tmp_path / "mnist"
    folder.mkdir()
    stale = folder / ".train-images-idx3-ubyte.gz.abc.part"
    fresh = folder / ".t10k-images-idx3-ubyte.gz.def.part"  # another process's
    for part in (stale, fresh):
        part.write_bytes(b"half a file")
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    with pytest.raises(OSError, match="downloads are off"):
        fetch_mnist(tmp_path, download_if_missing=False)
    assert not stale.exists() and fresh.exists()


@pytest.mark.parametrize(
    ("limit", "value", "message"),
    [
        ("_DOWNLOAD_MAX_BYTES", 2 << 20, "more than 2097152 bytes: not MNIST"),
        ("_DOWNLOAD_DEADLINE", 0.0, "gave up after 0 s"),
    ],
)
def test_a_download_too_large_or_too_slow_is_abandoned(
    tmp_path, monkeypatch, limit, value, message
):
    from skmlp.datasets import _mnist

    class Endless(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            self.send_response(200)
            self.end_headers()
            for _ in range(8):
                self.wfile.write(bytes(1 << 20))

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endless)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(_mnist, limit, value)
    try:
        with pytest.raises(OSError, match=message):
            fetch_mnist(
                tmp_path, mirrors=[f"http://127.0.0.1:{server.server_address[1]}/"]
            )
    finally:
        server.shutdown()
        server.server_close()
    assert [p.name for p in (tmp_path / "mnist").iterdir()] == []  # nothing left


def test_a_folder_with_an_idx_files_name_is_named(tmp_path):
    from skmlp.datasets import save_idx

    names = ["train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"]  # fmt: skip
    shapes = [(3, 2, 2), (3,), (1, 2, 2), (1,)]
    for name, shape in zip(names, shapes, strict=True):
        save_idx(tmp_path / f"{name}.gz", np.zeros(shape, np.uint8))
    labels = tmp_path / "t10k-labels-idx1-ubyte.gz"
    labels.unlink()
    labels.mkdir()
    with pytest.raises(IsADirectoryError, match="is a folder, where the IDX") as info:
        load_mnist(tmp_path)
    assert str(labels) in str(info.value) and "can take its place" not in str(
        info.value
    )
    # A file of the other spelling beside the folder is used.
    save_idx(tmp_path / "t10k-labels-idx1-ubyte", np.ones(1, np.uint8))
    _, (_, y_test) = load_mnist(tmp_path)
    assert y_test.tolist() == [1]


# -- a read-only cache, a dripping mirror, an empty SKMLP_DATA -----------------

_READ_ONLY: list[str] = []  # folders the audit hook below keeps from writes
_WRITES_TRIED: list[tuple] = []
_HOOK_INSTALLED = False


def _refuse_writes_in_read_only_folders(event, args):
    """Audit hook: a write inside a folder of ``_READ_ONLY`` fails as it would
    on a read-only file system, and is noted. chmod alone stops nothing when
    the tests run as root; this does, for every user."""
    import os

    if not _READ_ONLY or event not in (
        "open", "os.remove", "os.rename", "os.mkdir", "os.rmdir", "os.chmod",
        "os.utime", "os.truncate",
    ):  # fmt: skip
        return
    path = args[0]
    if not isinstance(path, (str, bytes, os.PathLike)):
        return  # a file descriptor
    path = os.path.abspath(os.fsdecode(path))
    if not any(path == f or path.startswith(f + os.sep) for f in _READ_ONLY):
        return
    writes = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
    if event == "open" and not (isinstance(args[2], int) and args[2] & writes):
        return  # reading is allowed
    if event == "os.mkdir" and os.path.exists(path):
        return  # the system's own answer: FileExistsError
    _WRITES_TRIED.append((event, path))
    raise PermissionError(13, "Permission denied (read-only in this test)", path)


@pytest.fixture
def read_only(monkeypatch):
    """``read_only(folder)``: nothing in it can be written, as a read-only
    folder for a user who is not root (chmod'ed too, for such users): writes
    fail, and ``os.access`` says so."""
    import os
    import stat
    import sys

    global _HOOK_INSTALLED
    if not _HOOK_INSTALLED:  # audit hooks stay for the process: installed once
        sys.addaudithook(_refuse_writes_in_read_only_folders)
        _HOOK_INSTALLED = True
    real_access = os.access
    changed = []

    def access(path, mode, **kwargs):
        path_ = os.path.abspath(os.fsdecode(path))
        if mode & os.W_OK and any(
            path_ == f or path_.startswith(f + os.sep) for f in _READ_ONLY
        ):
            return False
        return real_access(path, mode, **kwargs)

    def install(folder):
        for path in [folder, *folder.rglob("*")]:
            changed.append((path, path.stat().st_mode))
            path.chmod(
                path.stat().st_mode & ~(stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)
            )
        _READ_ONLY.append(os.path.abspath(folder))
        monkeypatch.setattr(os, "access", access)

    _WRITES_TRIED.clear()
    yield install
    _READ_ONLY.clear()
    for path, mode in changed:
        path.chmod(mode)


def test_a_complete_cache_is_used_from_a_read_only_folder(tmp_path, mirror, read_only):
    base, requests = mirror
    fetch_mnist(tmp_path, mirrors=[f"{base}/good/"])
    # Without the record of checked files: they are hashed, and that cannot
    # be recorded either.
    (tmp_path / "mnist" / ".verified.json").unlink()
    read_only(tmp_path)
    requests.clear()
    (X_train, y_train), _ = fetch_mnist(
        tmp_path, mirrors=[f"{base}/good/"], return_X_y=True
    )
    assert y_train[:5].tolist() == [5, 0, 4, 1, 9] and X_train.shape[0] == 60000
    assert requests == []
    assert _WRITES_TRIED == []  # nothing was even tried
    assert get_data_home(tmp_path) == str(tmp_path)
    with pytest.raises(PermissionError):  # the folder is read-only, even for root
        (tmp_path / "mnist" / "new").write_text("")


def test_a_read_only_cache_missing_a_file_names_the_fix(tmp_path, mirror, read_only):
    base, requests = mirror
    fetch_mnist(tmp_path, mirrors=[f"{base}/good/"])
    (tmp_path / "mnist" / "t10k-labels-idx1-ubyte.gz").unlink()
    read_only(tmp_path)
    requests.clear()
    with pytest.raises(OSError) as info:
        fetch_mnist(tmp_path, mirrors=[f"{base}/good/"])
    assert str(info.value) == (
        f"MNIST file t10k-labels-idx1-ubyte.gz must be downloaded (it is not "
        f"cached), but skmlp's data cache {tmp_path / 'mnist'} is not writable; "
        f"pass data_home= or set SKMLP_DATA to a writable folder, or put the four "
        f"MNIST IDX files there by hand."
    )
    assert requests == [] and _WRITES_TRIED == []


@pytest.fixture
def drip_mirror():
    """A mirror that answers one byte every 50 ms for up to 20 s: /headers/
    drips a header line, /body/ the file after a Content-Length of 10 MB."""

    requests = []
    stop = threading.Event()

    class Drip(http.server.BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def do_GET(self):
            requests.append(self.path)
            if self.path.startswith("/body/"):
                self.send_response(200)
                self.send_header("Content-Length", str(10_000_000))
                self.end_headers()
            else:
                self.wfile.write(b"HTTP/1.0 200 OK\r\nX-Slow: ")
            try:
                for _ in range(400):  # 20 s: the old code waited for all of it
                    if stop.wait(0.05):
                        return
                    self.wfile.write(b"x")
            except OSError:
                return  # the client gave up: what the test wants

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Drip)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}", requests
    stop.set()
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("where", ["headers", "body"])
def test_a_dripping_mirror_cannot_hold_a_call_past_its_deadline(
    tmp_path, monkeypatch, drip_mirror, where
):
    import time

    from skmlp.datasets import _mnist

    base, requests = drip_mirror
    monkeypatch.setattr(_mnist, "_DOWNLOAD_DEADLINE", 1.0)
    start = time.monotonic()
    with pytest.raises(OSError, match=f"{base}/{where}/: gave up after 1 s"):
        fetch_mnist(tmp_path, mirrors=[f"{base}/{where}/", f"{base}/next/"])
    # 1 s, and time to spare for a loaded machine; the old code took 20 s.
    assert time.monotonic() - start < 10
    # The deadline is the call's: no other mirror is tried after it.
    assert requests == [f"/{where}/train-images-idx3-ubyte.gz"]
    assert list((tmp_path / "mnist").iterdir()) == []  # nothing left behind


def test_an_empty_skmlp_data_is_unset(tmp_path, monkeypatch):
    home, here = tmp_path / "home", tmp_path / "here"
    here.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.chdir(here)
    for empty in ("", "  "):
        monkeypatch.setenv("SKMLP_DATA", empty)
        assert get_data_home() == str(home / "skmlp_data")
        with pytest.raises(OSError, match="downloads are off") as info:
            fetch_mnist(download_if_missing=False)
        assert str(home / "skmlp_data" / "mnist") in str(info.value)
    assert list(here.iterdir()) == []  # not the current folder
