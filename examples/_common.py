"""What every example does first: its options, its output folder and its data."""

import argparse
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # examples save their pictures; no window needed


def parse_args(doc: str, *, mnist: bool = True) -> argparse.Namespace:
    """``--data DIR``, ``--quick`` and ``--output DIR``; creates the output folder."""
    parser = argparse.ArgumentParser(description=doc.splitlines()[0])
    if mnist:
        parser.add_argument(
            "--data",
            help="folder with the MNIST IDX files (default: cache, download or bundled sample)",
        )
    parser.add_argument(
        "--quick",
        action="store_true",
        help="1-2 epochs on a few thousand images: a smoke test",
    )
    parser.add_argument(
        "--output", type=Path, default=Path("example-output"), help="where pictures go"
    )
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)
    return args


def mnist_features(args: argparse.Namespace, quick_rows: int = 2000):
    """MNIST as the labs feed it (784 floats in [0, 1]); fewer training rows with --quick."""
    from skmlp.datasets import get_mnist, to_features

    (X_train, y_train), (X_test, y_test) = get_mnist(args.data)[0]
    X_train, X_test = to_features(X_train), to_features(X_test)
    if args.quick:
        X_train, y_train = X_train[:quick_rows], y_train[:quick_rows]
    return X_train, y_train, X_test, y_test
