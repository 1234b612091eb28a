"""Every Python block of the README and the user guide runs, as written.

Each document's blocks run in order in one namespace, in a fresh process,
offline (the bundled sample stands in for full MNIST), in an empty folder
(a block that reads files writes them first, as a reader would). The user guide's
blocks train on the sample's first 1,500 training rows (``get_mnist`` and
``load_mnist_sample(return_X_y=True)`` hand out no more), the quick start's
too, to keep the suite short: the code is the guide's, only the data is smaller.
"""

import os
import re
import subprocess
import sys

import pytest

from .conftest import ROOT

pytestmark = pytest.mark.slow

BLOCK = re.compile(r"^```python\n(.*?)^```", re.S | re.M)

RUNNER = r"""
import json, sys
import skmlp.datasets  # (imports no Keras)
blocks = json.load(open(sys.argv[1]))
shrink = int(sys.argv[2])

def first_rows(data):
    (X_train, y_train), test = data
    return (X_train[:shrink], y_train[:shrink]), test

def get_mnist(*args, _get_mnist=skmlp.datasets.get_mnist, **kwargs):
    data, source = _get_mnist(*args, **kwargs)
    return first_rows(data), source

def load_mnist_sample(*, _load=skmlp.datasets.load_mnist_sample, **kwargs):
    data = _load(**kwargs)
    return first_rows(data) if kwargs.get("return_X_y") else data

if shrink:  # what the blocks import from skmlp.datasets
    skmlp.datasets.get_mnist = get_mnist
    skmlp.datasets.load_mnist_sample = load_mnist_sample
namespace = {"__name__": "__main__"}
for i, block in enumerate(blocks):
    exec(compile(block, f"block {i + 1}", "exec"), namespace)
    print(f"-- block {i + 1} ran", flush=True)
    if shrink and i == 0:
        assert len(namespace["X_train"]) == shrink, "the quick start's data"
"""


def python_blocks(name):
    return BLOCK.findall((ROOT / name).read_text())


def run_blocks(blocks, folder, shrink=0):
    import json

    assert not any(folder.iterdir())  # as a reader's new folder: nothing to read
    (folder / "blocks.json").write_text(json.dumps(blocks))
    (folder / "runner.py").write_text(RUNNER)
    env = {
        **os.environ,
        "SKMLP_DATA": str(folder / "cache"),
        "SKMLP_MNIST_MIRRORS": "http://127.0.0.1:9/",
        "MPLBACKEND": "Agg",
    }
    return subprocess.run(
        [sys.executable, "runner.py", "blocks.json", str(shrink)],
        cwd=folder, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip


def test_readme_quick_start_runs_and_scores_what_it_says(tmp_path):
    blocks = python_blocks("README.md")
    assert len(blocks) == 1
    result = run_blocks(
        [blocks[0] + "\nprint('score', clf.score(X_test, y_test))\n"], tmp_path
    )
    assert result.returncode == 0, result.stderr[-3000:]
    score = float(result.stdout.split("score")[-1].split()[0])
    assert "about 0.95 on the sample" in blocks[0]
    assert score > 0.93  # the README says about 0.95 on the sample


def test_user_guide_blocks_run(tmp_path):
    blocks = python_blocks("docs/user-guide.md")
    assert len(blocks) >= 10
    result = run_blocks(blocks, tmp_path, shrink=1500)
    ran = result.stdout.count("ran")
    assert result.returncode == 0, (
        f"block {ran + 1} of docs/user-guide.md failed:\n{result.stderr[-3000:]}"
    )
    assert ran == len(blocks)


def test_the_documentation_site_builds_without_warnings(tmp_path):
    # mkdocs --strict fails on any warning: a broken link, a page left out of
    # the navigation, a docstring mkdocstrings cannot parse.
    site = tmp_path / "site"
    result = subprocess.run(
        [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir",
         str(site), "--config-file", str(ROOT / "mkdocs.yml")],
        capture_output=True, text=True, cwd=ROOT, timeout=600, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-4000:]
    api = (site / "api" / "index.html").read_text()
    # Every public name is rendered, with the parameters its docstring shares.
    for name in ("MLPKerasClassifier", "partial_fit", "GridSearchCV", "load_idx",
                 "VotingClassifier", "plot_history", "hidden_layer_sizes"):  # fmt: skip
        assert name in api, name
    assert (site / "user-guide" / "index.html").exists()
