"""Damaged files: every bit flip or truncation is a ValueError naming the file.

Seeded mutants of small saved files, in today's format (3), in 0.1.0's
(format 2, committed in tests/data) and in format 1 (a .keras network):
single-bit flips and truncations of the file itself (mostly caught by the
zip's CRCs), and of each member rewritten with a valid CRC (so that the
JSON, the .npy headers and the .keras file are what is damaged). Each
mutant either loads and predicts exactly as the original, or raises a
ValueError that names the file; nothing else may escape ``skmlp.load``.
tools/check_lowest_keras.py runs this file on the lowest Keras too.
"""

import io
import json
import random
import zipfile

import numpy as np
import pytest

import skmlp
from skmlp import MLPKerasClassifier

from .conftest import ROOT


@pytest.fixture(scope="module")
def small(digits):
    """A tiny classifier: 64 inputs, 4 hidden units, 10 classes."""
    X, y = digits
    return MLPKerasClassifier((4,), epochs=1, random_state=0).fit(X[:200], y[:200])


def format_3(small, folder):
    small.save(folder / "format-3.skmlp")
    return (folder / "format-3.skmlp").read_bytes()


def format_1(small, folder):
    """What an earlier release wrote: parameters beside a .keras network."""
    with zipfile.ZipFile(io.BytesIO(format_3(small, folder))) as archive:
        meta = json.loads(archive.read("estimator.json"))
    meta["format"] = 1
    del meta["spec"], meta["targets"]
    meta["fitted"].update(
        _dtype="float32", _y_one_hot=False, _y_sparse=False, _multilabel=False
    )
    small.model_.save(folder / "model.keras")
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("estimator.json", json.dumps(meta))
        archive.write(folder / "model.keras", "model.keras")
    return buffer.getvalue()


def flip(data: bytes, rng: random.Random) -> bytes:
    """``data`` with one bit flipped."""
    out = bytearray(data)
    bit = rng.randrange(len(out) * 8)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def cut(data: bytes, rng: random.Random) -> bytes:
    return data[: rng.randrange(len(data))]


def rezipped(data: bytes, name: str, damage) -> bytes:
    """The file with member ``name`` damaged and stored again, its CRC valid."""
    buffer = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as source,
        zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            member = source.read(info)
            target.writestr(info, damage(member) if info.filename == name else member)
    return buffer.getvalue()


def mutants(data: bytes, seed: int, n_file: int, n_member: int):
    """Flips and cuts of the file, then of each member (stored with valid CRCs)."""
    rng = random.Random(seed)
    for i in range(n_file):
        yield (
            f"file {'cut' if i % 4 == 0 else 'flip'} {i}",
            (cut if i % 4 == 0 else flip)(data, rng),
        )
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
    for name in names:
        for i in range(n_member):
            damage = cut if i % 5 == 0 else flip
            yield (
                f"{name} {damage.__name__} {i}",
                rezipped(data, name, lambda m, d=damage: d(m, rng)),
            )


def check_mutants(original: bytes, X, tmp_path, **counts):
    """Load each mutant: a ValueError naming it, or the original's predictions."""
    path = tmp_path / "mutant.skmlp"
    path.write_bytes(original)
    expected = skmlp.load(path)
    proba, labels = expected.predict_proba(X), expected.predict(X)
    outcomes = {"refused": 0, "same": 0}
    wrong = []
    for what, data in mutants(original, **counts):
        path.write_bytes(data)
        try:
            loaded = skmlp.load(path)
        except ValueError as exc:
            outcomes["refused"] += 1
            if str(path) not in str(exc):
                wrong.append(f"{what}: the error does not name the file: {exc}")
            continue
        except Exception as exc:  # noqa: BLE001  (what the test is about)
            wrong.append(f"{what}: {type(exc).__name__}: {exc}"[:300])
            continue
        outcomes["same"] += 1
        if not (
            np.array_equal(loaded.predict_proba(X), proba)
            and np.array_equal(loaded.predict(X), labels)
        ):
            wrong.append(f"{what}: loaded, and predicts differently")
    assert not wrong, "\n".join(wrong)
    return outcomes


def test_damaged_files_of_today_are_refused_naming_the_file(small, digits, tmp_path):
    original = format_3(small, tmp_path)
    outcomes = check_mutants(
        original, digits[0][:50], tmp_path, seed=3, n_file=120, n_member=50
    )
    # Most damage is caught; a flip in an unused byte (a date) is harmless.
    assert outcomes["refused"] > 150, outcomes


def test_damaged_files_of_0_1_0_are_refused_naming_the_file(digits, tmp_path):
    original = (ROOT / "tests" / "data" / "classifier-0.1.0.skmlp").read_bytes()
    outcomes = check_mutants(
        original, digits[0][:50], tmp_path, seed=2, n_file=80, n_member=35
    )
    assert outcomes["refused"] > 100, outcomes


def test_damaged_files_of_format_1_are_refused_naming_the_file(small, digits, tmp_path):
    original = format_1(small, tmp_path)
    outcomes = check_mutants(
        original, digits[0][:50], tmp_path, seed=1, n_file=40, n_member=25
    )
    assert outcomes["refused"] > 50, outcomes
