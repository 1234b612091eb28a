"""Every example runs to completion (quick mode, offline, on the bundled sample)."""

import json
import os
import subprocess
import sys

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


# Every example in one Python process (TensorFlow imported once, not five
# times), each as ``python examples/NAME --quick --output ...`` runs it:
# its own sys.argv, data folder and output folder; a failure is reported
# with the example's name and traceback.
RUN_ALL = """
import contextlib, io, json, os, runpy, sys, traceback
import matplotlib.pyplot as plt
examples, root = sys.argv[1], sys.argv[2]
sys.path.insert(0, examples)
results = {}
for name in sys.argv[3:]:
    os.environ["SKMLP_DATA"] = os.path.join(root, name, "cache")
    sys.argv = [name, "--quick", "--output", os.path.join(root, name, "out")]
    out = io.StringIO()
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(os.path.join(examples, name), run_name="__main__")
        error = None
    except SystemExit as stop:
        error = None if stop.code in (None, 0) else f"exit {stop.code}"
    except BaseException:
        error = traceback.format_exc()[-3000:]
    plt.close("all")
    results[name] = {"error": error, "stdout": out.getvalue()}
print(json.dumps(results))
"""


def test_every_example_runs(tmp_path):
    env = {
        **os.environ,
        "SKMLP_MNIST_MIRRORS": "http://127.0.0.1:9/",  # offline: the bundled sample
        "MPLBACKEND": "Agg",
    }
    result = subprocess.run(
        [sys.executable, "-c", RUN_ALL, str(ROOT / "examples"), str(tmp_path),
         *EXAMPLES],
        env=env, capture_output=True, text=True, timeout=1500, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    results = json.loads(result.stdout.strip().splitlines()[-1])
    assert sorted(results) == EXAMPLES
    for example, outcome in results.items():
        assert outcome["error"] is None, f"{example}: {outcome['error']}"
        assert "accuracy" in outcome["stdout"], example
        pictures = list((tmp_path / example / "out").glob("*.png"))
        assert pictures, example
        assert all(p.stat().st_size > 5000 for p in pictures), example
