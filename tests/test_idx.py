"""The IDX reader and writer, including files that lie about themselves."""

import gzip
import struct
import tracemalloc

import numpy as np
import pytest

from skmlp.datasets import load_idx, read_idx_header, save_idx

DTYPES = [np.uint8, np.int8, np.int16, np.int32, np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("shape", [(7,), (3, 4), (2, 3, 4), (2, 1, 3, 2)])
@pytest.mark.parametrize("suffix", ["", ".gz"])
def test_round_trip_is_exact(tmp_path, dtype, shape, suffix):
    rng = np.random.default_rng(0)
    array = (rng.standard_normal(shape) * 100).astype(dtype)
    path = tmp_path / f"a.idx{suffix}"
    save_idx(path, array)
    loaded = load_idx(path)
    assert loaded.dtype == np.dtype(dtype) and loaded.shape == shape
    np.testing.assert_array_equal(loaded, array)
    assert read_idx_header(path) == (np.dtype(dtype).newbyteorder(">"), shape)


def test_gzip_is_detected_by_content_not_name(tmp_path):
    array = np.arange(12, dtype=np.int16).reshape(3, 4)
    save_idx(tmp_path / "a.gz", array)
    (tmp_path / "plain_name").write_bytes((tmp_path / "a.gz").read_bytes())
    np.testing.assert_array_equal(load_idx(tmp_path / "plain_name"), array)


def test_writes_big_endian_like_mnist(tmp_path):
    save_idx(tmp_path / "a", np.array([[1, 256]], dtype=np.int32))
    raw = (tmp_path / "a").read_bytes()
    assert raw == bytes([0, 0, 0x0C, 2]) + struct.pack(">II", 1, 2) + struct.pack(
        ">ii", 1, 256
    )


def test_save_refuses_types_idx_cannot_hold(tmp_path):
    with pytest.raises(ValueError, match="cannot store dtype int64"):
        save_idx(tmp_path / "a", np.arange(3, dtype=np.int64))
    assert list(tmp_path.iterdir()) == []


def _write(path, data: bytes, compress=False):
    path.write_bytes(gzip.compress(data) if compress else data)
    return path


@pytest.mark.parametrize("compress", [False, True])
@pytest.mark.parametrize(
    ("data", "message"),
    [
        (
            b"\x01\x02\x08\x01" + struct.pack(">I", 1) + b"x",
            "bad magic number 01020801",
        ),
        (b"", "bad magic number empty"),
        (
            b"\x00\x00\x0a\x01" + struct.pack(">I", 1) + b"x",
            "unknown IDX type code 0x0A",
        ),
        (b"\x00\x00\x08\x02" + struct.pack(">II", 2, 3) + b"12345", "truncated"),
        (b"\x00\x00\x08\x01" + struct.pack(">I", 2) + b"123", "trailing bytes"),
        (b"\x00\x00\x08\x03" + struct.pack(">I", 2), "truncated"),
        (b"\x00\x00\x0c\x01" + struct.pack(">I", 2) + b"1234567", "truncated"),
    ],
)
def test_bad_files_are_named_and_explained(tmp_path, data, message, compress):
    path = _write(tmp_path / "bad.idx", data, compress)
    with pytest.raises(ValueError, match=message) as info:
        load_idx(path)
    assert str(path) in str(info.value)


@pytest.mark.parametrize("compress", [False, True])
def test_header_claiming_2_to_32_images_allocates_nothing(tmp_path, compress):
    header = b"\x00\x00\x08\x03" + struct.pack(">III", 2**32 - 1, 28, 28)
    path = _write(tmp_path / "huge.idx", header + bytes(28 * 28), compress)
    tracemalloc.start()
    with pytest.raises(ValueError, match="more than max_bytes"):
        load_idx(path)
    with pytest.raises(ValueError, match="truncated"):
        load_idx(path, max_bytes=2**50)  # allowed, but the bytes are not there
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 16 * 2**20  # the claim was 3.4 TB


def test_corrupt_gzip(tmp_path):
    good = gzip.compress(b"\x00\x00\x08\x01" + struct.pack(">I", 4000) + bytes(4000))
    path = _write(tmp_path / "c.gz", good[:-12] + bytes(12))
    with pytest.raises(ValueError, match="c.gz"):
        load_idx(path)


def test_real_mnist_reads_fast_enough_to_matter(mnist_dir):
    import time

    start = time.perf_counter()
    images = load_idx(mnist_dir / "train-images-idx3-ubyte.gz")
    elapsed = time.perf_counter() - start
    assert images.shape == (60000, 28, 28) and images.dtype == np.uint8
    assert elapsed < 5  # generous for a loaded CI machine; about 0.2 s here


def test_a_header_declaring_more_than_max_bytes_is_refused_unread(tmp_path):
    # A gzip bomb: 4 MB that inflates to 400 MB of zeros, honestly declared.
    path = tmp_path / "bomb.idx.gz"
    header = b"\x00\x00\x08\x01" + (400 << 20).to_bytes(4, "big")
    with gzip.open(path, "wb", compresslevel=1) as f:
        f.write(header)
        for _ in range(400):
            f.write(bytes(1 << 20))
    tracemalloc.start()
    try:
        with pytest.raises(
            ValueError, match=r"bomb.idx.gz.*more than max_bytes=104857600"
        ):
            load_idx(path, max_bytes=100 << 20)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20
    assert load_idx(path, max_bytes=500 << 20).shape == (400 << 20,)


def test_byte_order_is_fixed_in_place(tmp_path):
    array = np.arange(1 << 20, dtype=np.float64)  # 8 MB
    path = tmp_path / "f8.idx"
    save_idx(path, array)
    tracemalloc.start()
    try:
        loaded = load_idx(path)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    np.testing.assert_array_equal(loaded, array)
    assert peak < 1.7 * array.nbytes  # the data once, plus a read chunk


def test_fuzzed_files_load_or_raise_a_value_error_naming_the_file(tmp_path):
    rng = np.random.default_rng(0)
    good = tmp_path / "good.idx.gz"
    save_idx(good, rng.integers(0, 256, (20, 7, 7), dtype=np.uint8))
    original = good.read_bytes()
    for i in range(300):
        data = bytearray(original)
        for _ in range(rng.integers(1, 4)):
            kind = rng.integers(3)
            if kind == 0:  # flip a byte
                position = rng.integers(len(data))
                data[position] ^= int(rng.integers(1, 256))
            elif kind == 1:  # truncate
                del data[rng.integers(1, len(data)) :]
            else:  # insert garbage
                position = rng.integers(len(data))
                data[position:position] = rng.bytes(int(rng.integers(1, 9)))
        path = tmp_path / f"fuzz{i}.idx.gz"
        path.write_bytes(bytes(data))
        try:
            load_idx(path)
        except ValueError as error:
            assert f"fuzz{i}.idx.gz" in str(error), error
