"""The bundled 10% MNIST sample: reproducible, byte-identical, in the wheel."""

import gzip
import hashlib
import importlib.util
import subprocess
import sys
import zipfile

import numpy as np
import pandas as pd
import pytest

from skmlp.datasets import load_mnist, load_mnist_sample

from .conftest import ROOT

SAMPLE_DIR = ROOT / "skmlp" / "datasets" / "data"


def _tool():
    spec = importlib.util.spec_from_file_location(
        "make_mnist_sample", ROOT / "tools" / "make_mnist_sample.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_shipped_files_are_what_the_script_produces(mnist_dir, tmp_path):
    _tool().make_sample(mnist_dir, tmp_path)
    for shipped in sorted(SAMPLE_DIR.glob("*.gz")):
        # Compare content, not gzip bytes: zlib builds may compress differently.
        assert gzip.decompress(shipped.read_bytes()) == gzip.decompress(
            (tmp_path / shipped.name).read_bytes()
        ), shipped.name
    assert len(list(SAMPLE_DIR.glob("*.gz"))) == 4


def test_every_sampled_image_is_byte_identical_to_its_source_row(mnist_dir):
    full = load_mnist(mnist_dir)
    sample = load_mnist_sample(return_X_y=True)
    for (X_full, y_full), (X_sample, y_sample) in zip(full, sample, strict=True):
        # Independent of the script: find each sampled image among the originals.
        rows = {}
        for i, image in enumerate(X_full):
            rows.setdefault(hashlib.sha256(image.tobytes()).digest(), []).append(i)
        previous = -1
        for image, label in zip(X_sample, y_sample, strict=True):
            matches = rows.get(hashlib.sha256(image.tobytes()).digest())
            assert matches, "a sampled image is not in the original set"
            assert label in y_full[matches]
            later = [m for m in matches if m > previous]
            assert later, "sample rows are not in their original order"
            previous = later[0]


def test_sample_size_and_class_shares():
    (X_train, y_train), (X_test, y_test) = load_mnist_sample(return_X_y=True)
    assert X_train.shape == (6000, 28, 28) and X_test.shape == (1000, 28, 28)
    full_train = np.array([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949])
    full_test = np.array([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009])
    assert np.all(np.abs(np.bincount(y_train) - full_train / 10) < 1)
    assert np.all(np.abs(np.bincount(y_test) - full_test / 10) < 1)
    (X, y), _ = load_mnist_sample(return_X_y=True, as_frame=True)
    assert (
        isinstance(X, pd.DataFrame)
        and X.shape == (6000, 784)
        and isinstance(y, pd.Series)
    )


def test_the_sample_as_scikit_learn_loaders_give_it():
    mnist = load_mnist_sample()
    (X_train, y_train), (X_test, y_test) = load_mnist_sample(return_X_y=True)
    # The Bunch holds the same arrays as the Keras-shaped pairs.
    np.testing.assert_array_equal(mnist.images, X_train)
    np.testing.assert_array_equal(mnist.data, X_train.reshape(6000, 784))
    np.testing.assert_array_equal(mnist.target, y_train)
    np.testing.assert_array_equal(mnist.data_test, X_test.reshape(1000, 784))
    np.testing.assert_array_equal(mnist.target_test, y_test)
    assert mnist.feature_names[:2] == ["pixel_0", "pixel_1"]
    assert list(mnist.target_names) == list(range(10)) and "LeCun" in mnist.DESCR
    assert mnist.frame is None
    framed = load_mnist_sample(as_frame=True)
    assert framed.frame.shape == (6000, 785) and framed.frame["label"].equals(
        framed.target
    )
    np.testing.assert_array_equal(framed.data.to_numpy(), mnist.data)


def test_docstring_gives_the_attribution():
    doc = load_mnist_sample.__doc__
    assert "Yann LeCun" in doc and "Creative Commons" in doc


@pytest.fixture(scope="module")
def installed_wheel(tmp_path_factory):
    """Build the wheel and install it (no deps) into a folder of its own."""
    tmp = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(tmp),
            str(ROOT),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    wheel = next(tmp.glob("skmlp-*.whl"))
    target = tmp / "site"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--no-deps",
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
        timeout=600,
    )
    return wheel, target


def test_wheel_carries_the_sample_and_stays_small(installed_wheel):
    wheel, _ = installed_wheel
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        data = [
            n
            for n in names
            if n.startswith("skmlp/datasets/data/") and n.endswith(".gz")
        ]
        code = sum(
            i.file_size for i in archive.infolist() if i.filename.endswith(".py")
        )
    assert len(data) == 4
    assert any(n.endswith("NOTICE") for n in names)
    assert wheel.stat().st_size < 3 * 2**20 + code


def test_installed_package_trains_offline_on_the_sample(installed_wheel, tmp_path):
    """`skmlp train --epochs 2` from a non-editable install, in an empty folder,
    with MNIST neither cached nor downloadable."""
    _, site = installed_wheel
    workdir = tmp_path / "empty"
    workdir.mkdir()
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path / "home"),
        "PYTHONPATH": str(site),
        "SKMLP_DATA": str(tmp_path / "cache"),
        "SKMLP_MNIST_MIRRORS": "http://127.0.0.1:9/",  # nothing listens: offline
        "PYTHONNOUSERSITE": "1",
    }
    result = subprocess.run(
        [sys.executable, "-m", "skmlp", "train", "--epochs", "2"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "training on the bundled 10% sample" in result.stdout
    accuracy = float(result.stdout.split("test accuracy:")[1].split()[0])
    assert accuracy > 0.85
    imported_from = subprocess.run(
        [sys.executable, "-c", "import skmlp; print(skmlp.__file__)"],
        cwd=workdir,
        env=env,
        capture_output=True,
        text=True,
    ).stdout
    assert str(site) in imported_from  # the installed copy, not the source tree
    assert not list((tmp_path / "cache" / "mnist").glob("*"))  # nothing half-downloaded
