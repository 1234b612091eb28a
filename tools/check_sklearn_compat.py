"""Check skmlp's pinned scikit-learn signatures against each release's wheel.

``skmlp/_sklearn_compat.py`` is the one module that uses scikit-learn's
private functions (``_fit_and_score``, ``BaseSearchCV._format_results`` ...);
``SIGNATURES`` pins what skmlp expects of them. The test suite checks the
installed scikit-learn; this script downloads each release's wheel (no
dependencies) into a temporary folder and checks it there, in a fresh
process with that scikit-learn ahead of the installed one on ``sys.path``.
It downloads from the package index, so it is not part of ``pytest``.

    python tools/check_sklearn_compat.py                  # 1.6.1 1.7.2 1.8.0 1.9.1
    python tools/check_sklearn_compat.py --versions 1.9.1
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
VERSIONS = ("1.6.1", "1.7.2", "1.8.0", "1.9.1")

CHECK = """
import importlib.util, sys
import sklearn
spec = importlib.util.spec_from_file_location("compat", sys.argv[1])
compat = importlib.util.module_from_spec(spec)
spec.loader.exec_module(compat)
found = compat.pinned()
wrong = {k: v for k, v in found.items() if v != compat.SIGNATURES[k]}
print(sklearn.__version__, "OK" if not wrong else wrong)
sys.exit(1 if wrong else 0)
"""


def check(version: str, folder: Path) -> bool:
    target = folder / version
    subprocess.run(
        [sys.executable, "-m", "pip", "download", f"scikit-learn=={version}",
         "--no-deps", "--only-binary=:all:", "-q", "-d", str(target)],
        check=True,
    )  # fmt: skip
    (wheel,) = target.glob("*.whl")
    with zipfile.ZipFile(wheel) as archive:
        archive.extractall(target / "site")
    result = subprocess.run(
        [sys.executable, "-c", CHECK, str(ROOT / "skmlp" / "_sklearn_compat.py")],
        env={"PYTHONPATH": str(target / "site")},
        capture_output=True,
        text=True,
    )
    print(result.stdout.strip() or result.stderr[-2000:])
    return result.returncode == 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=VERSIONS)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        results = [check(v, Path(folder)) for v in args.versions]
    raise SystemExit(0 if all(results) else 1)


if __name__ == "__main__":
    main()
