"""The IDX file format (MNIST's): a safe reader and an exact writer.

An IDX file is a 4-byte magic number (two zero bytes, a type code, the number
of dimensions), one big-endian uint32 per dimension, then the elements in
big-endian C order. Files are treated as untrusted: nothing is allocated from
what the header claims until the bytes are there.
"""

from __future__ import annotations

import gzip
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from .._files import atomic_path

# IDX type code -> big-endian NumPy dtype.
IDX_TYPES = {
    0x08: np.dtype(">u1"),
    0x09: np.dtype(">i1"),
    0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"),
    0x0D: np.dtype(">f4"),
    0x0E: np.dtype(">f8"),
}
_CODES = {dtype.newbyteorder("="): code for code, dtype in IDX_TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"
_CHUNK = 1 << 22  # bytes read at a time, so a lying header costs nothing
# load_idx's default bound on the data it reads: 20 times MNIST's largest file.
MAX_BYTES = 1 << 30
# What a corrupt gzip stream raises, from the gzip module or zlib below it.
_GZIP_ERRORS = (OSError, EOFError, gzip.BadGzipFile, zlib.error)


def _open(path: Path):
    with open(path, "rb") as probe:
        compressed = probe.read(2) == _GZIP_MAGIC
    return gzip.open(path, "rb") if compressed else open(path, "rb"), compressed


def _read_exactly(stream, n_bytes: int, path: Path) -> bytearray:
    """Read ``n_bytes`` or fail; never allocate more than what arrived plus a chunk."""
    data = bytearray()
    while len(data) < n_bytes:
        try:
            chunk = stream.read(min(_CHUNK, n_bytes - len(data)))
        except _GZIP_ERRORS as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
        if not chunk:
            raise ValueError(
                f"{path}: truncated: the header announces {n_bytes} bytes of data "
                f"but the file holds only {len(data)}."
            )
        data += chunk
    return data


def read_idx_header(path: str | os.PathLike) -> tuple[np.dtype, tuple[int, ...]]:
    """Return the element type and shape an IDX file declares, reading only its header."""
    path = Path(path)
    stream, _ = _open(path)
    with stream:
        return _parse_header(stream, path)


def _parse_header(stream, path: Path) -> tuple[np.dtype, tuple[int, ...]]:
    try:
        magic = stream.read(4)
    except _GZIP_ERRORS as exc:
        raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
    if len(magic) < 4 or magic[:2] != b"\x00\x00":
        raise ValueError(
            f"{path}: not an IDX file (bad magic number {magic.hex() or 'empty'}; "
            f"an IDX file starts with 0000 followed by a type code and a rank)."
        )
    code, ndim = magic[2], magic[3]
    if code not in IDX_TYPES:
        known = ", ".join(f"0x{c:02X}" for c in IDX_TYPES)
        raise ValueError(
            f"{path}: unknown IDX type code 0x{code:02X} (known: {known})."
        )
    dims = bytes(_read_exactly(stream, 4 * ndim, path)) if ndim else b""
    shape = struct.unpack(f">{ndim}I", dims)
    return IDX_TYPES[code], tuple(shape)


def load_idx(path: str | os.PathLike, *, max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Read an IDX file, plain or gzip-compressed, into a NumPy array.

    Parameters
    ----------
    path : str or path-like
        The file, e.g. ``train-images-idx3-ubyte.gz``. Compression is detected
        from the content, not the name.
    max_bytes : int, default=2**30
        The most data the header may declare (MNIST's largest file holds 47
        MB); a file declaring more is refused before anything is read or
        decompressed. Raise it for larger data sets.

    Returns
    -------
    ndarray
        Of the shape the header declares and the matching native-endian dtype
        (uint8, int8, int16, int32, float32 or float64).

    Raises
    ------
    ValueError
        Naming the file, when the magic number or type code is bad, the
        gzip stream is corrupt, the header declares more than ``max_bytes``,
        or the data is shorter or longer than the header declares. A header
        that claims more data than the file holds is rejected before anything
        of that size is allocated; memory peaks at the data's size plus a
        4 MB chunk.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> from skmlp.datasets import load_idx, save_idx
    >>> path = os.path.join(tempfile.mkdtemp(), "a.idx.gz")
    >>> save_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> load_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    path = Path(path)
    stream, compressed = _open(path)
    with stream:
        dtype, shape = _parse_header(stream, path)
        n_bytes = int(np.prod(shape, dtype=object)) * dtype.itemsize
        if n_bytes > max_bytes:
            raise ValueError(
                f"{path}: the header declares shape {shape}, {n_bytes} bytes of "
                f"data, more than max_bytes={max_bytes}; pass a larger max_bytes "
                f"if the file is trusted."
            )
        if not compressed:
            available = path.stat().st_size - 4 - 4 * len(shape)
            if available != n_bytes:
                problem = "truncated" if available < n_bytes else "trailing bytes"
                raise ValueError(
                    f"{path}: {problem}: the header declares shape {shape} "
                    f"({n_bytes} bytes of data) but the file holds {available}."
                )
        data = _read_exactly(stream, n_bytes, path)
        try:
            extra = stream.read(1)
        except _GZIP_ERRORS as exc:
            raise ValueError(f"{path}: corrupt gzip data ({exc})") from None
        if extra:
            raise ValueError(
                f"{path}: trailing bytes: data goes on past the {n_bytes} bytes "
                f"that shape {shape} declares."
            )
    # Writable: it wraps our own bytearray, so byte order is fixed in place.
    array = np.frombuffer(data, dtype=dtype).reshape(shape)
    if dtype.isnative:
        return array
    return array.byteswap(inplace=True).view(dtype.newbyteorder("="))


def save_idx(path: str | os.PathLike, array) -> None:
    """Write ``array`` as an IDX file, gzip-compressed when the name ends in ``.gz``.

    The file is written to a temporary name and renamed into place, so a
    reader never sees half a file.

    Parameters
    ----------
    path : str or path-like
    array : array-like
        Of dtype uint8, int8, int16, int32, float32 or float64 (the types IDX
        can hold), at most 255 dimensions.
    """
    path = Path(path)
    array = np.asarray(array)
    dtype = array.dtype.newbyteorder("=")
    if dtype not in _CODES:
        raise ValueError(
            f"IDX cannot store dtype {array.dtype}; convert to one of uint8, int8, "
            f"int16, int32, float32 or float64 first (e.g. array.astype('float32'))."
        )
    if array.ndim > 255 or any(d >= 2**32 for d in array.shape):
        raise ValueError(f"IDX cannot store shape {array.shape}.")
    code = _CODES[dtype]
    header = bytes([0, 0, code, array.ndim]) + struct.pack(
        f">{array.ndim}I", *array.shape
    )
    body = np.ascontiguousarray(array, dtype=IDX_TYPES[code]).tobytes()
    with atomic_path(path) as tmp, open(tmp, "wb") as raw:
        if path.suffix == ".gz":
            # mtime=0 and no file name: the same array gives the same bytes.
            with gzip.GzipFile(fileobj=raw, mode="wb", mtime=0, filename="") as gz:
                gz.write(header)
                gz.write(body)
        else:
            raw.write(header)
            raw.write(body)


def to_features(images, *, flatten: bool = True, scale: bool = True) -> np.ndarray:
    """Images as the labs feed them to a network: one row each, pixels in [0, 1].

    ``images.reshape(n, -1) / 255`` as ``float32``, the labs' preparation.

    Parameters
    ----------
    images : ndarray of shape (n, rows, cols)
    flatten : bool, default=True
        One row of ``rows * cols`` values per image.
    scale : bool, default=True
        Divide 0-255 ``uint8`` pixels by 255 into ``float32``; other types
        are refused, since their range is unknown.
    """
    images = np.asarray(images)
    if flatten:
        images = images.reshape(len(images), -1)
    if scale:
        if images.dtype != np.uint8:
            raise ValueError(
                f"scale=True expects 0-255 uint8 pixels, got {images.dtype}; use scale=False."
            )
        images = np.divide(images, np.float32(255), dtype=np.float32)
    return images
