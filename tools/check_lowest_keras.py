"""Run skmlp's load-safety tests on the lowest Keras that pyproject.toml allows.

``skmlp.load`` must refuse a tampered file on every Keras it installs with,
and older Keras releases let a ``.keras`` config import any module. The test
suite runs on the Keras installed (the newest); this script installs the
declared lowest release (or ``--keras VERSION``) into a temporary folder
ahead of it on ``sys.path`` and runs the load-safety tests there
(``LOAD_TESTS``: the tampered and damaged files, format 1's ``.keras``
networks among them, and the fuzz of damaged files). It downloads from the
package index, so it is not part of ``pytest``.

    python tools/check_lowest_keras.py               # the declared lower bound
    python tools/check_lowest_keras.py --keras 3.8.0 # an unsafe Keras: skmlp's own checks hold
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

from packaging.version import Version

ROOT = Path(__file__).resolve().parents[1]
# The tests of skmlp.load; the format-1 cases (a .keras network, which Keras
# itself reads) are in both.
LOAD_TESTS = ("tests/test_load_safety.py", "tests/test_load_fuzz.py")


def declared_lowest() -> str:
    text = (ROOT / "pyproject.toml").read_text()
    match = re.search(r'^\s*"keras\s*>=\s*([\w.]+)', text, re.MULTILINE)
    if match is None:
        raise SystemExit("pyproject.toml declares no keras>= lower bound")
    return match.group(1)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keras", default=declared_lowest(), help="Keras version")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as target:
        subprocess.run(
            [sys.executable, "-m", "pip", "install", "-q", "--no-deps",
             "--target", target, f"keras=={args.keras}"],
            check=True,
        )  # fmt: skip
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([target, str(ROOT)])}
        version = subprocess.run(
            [sys.executable, "-c", "import keras; print(keras.__version__)"],
            env=env, capture_output=True, text=True, check=True,
        ).stdout.strip()  # fmt: skip
        print(f"Keras {version} from {target}", flush=True)
        if Version(version) != Version(args.keras):
            raise SystemExit(f"expected Keras {args.keras}, imported {version}")
        return subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider",
             *(str(ROOT / test) for test in LOAD_TESTS)],
            env=env, cwd=ROOT, check=False,
        ).returncode  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
