"""Every example runs to completion (quick mode, offline, on the bundled sample)."""

import os
import subprocess
import sys

import pytest

from .conftest import ROOT

EXAMPLES = sorted(
    p.name for p in (ROOT / "examples").glob("*.py") if not p.name.startswith("_")
)


def test_there_is_an_example_per_lab_group():
    assert EXAMPLES == [
        "keras_intro_depth.py",
        "perceptron_vs_mlp.py",
        "regularization_l1_l2.py",
        "subset_tuning.py",
        "synthetic_cosine.py",
    ]


@pytest.mark.parametrize("example", EXAMPLES)
def test_example_runs(example, tmp_path):
    env = {
        **os.environ,
        "SKMLP_DATA": str(tmp_path / "cache"),
        "SKMLP_MNIST_MIRRORS": "http://127.0.0.1:9/",  # offline: the bundled sample
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [
            sys.executable,
            str(ROOT / "examples" / example),
            "--quick",
            "--output",
            str(tmp_path / "out"),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert "accuracy" in result.stdout
    pictures = list((tmp_path / "out").glob("*.png"))
    assert pictures and all(p.stat().st_size > 5000 for p in pictures)
