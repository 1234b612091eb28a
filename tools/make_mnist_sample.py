"""Build the 10% MNIST sample shipped in skmlp/datasets/data/ from the full files.

    python tools/make_mnist_sample.py ../shared/data/mnist skmlp/datasets/data

The selection is deterministic and needs no random number generator (whose
streams may change between NumPy versions): within each class, rows are
ranked by the SHA-256 of "skmlp-mnist-sample:<split>:<row index>", and the
first ones are kept. Each class keeps its share of the split (largest
remainder rounding to exactly 10%), and the kept rows stay in their original
order. The images and labels are copied byte for byte.
"""

from __future__ import annotations

import argparse
import hashlib
import sys
from pathlib import Path

import numpy as np

from skmlp.datasets import load_mnist, save_idx
from skmlp.datasets._mnist import MNIST_FILES

FRACTION = 0.1
SALT = "skmlp-mnist-sample"


def class_quotas(labels: np.ndarray, total: int) -> dict[int, int]:
    """Rows per class: each class's share of ``total``, by largest remainder."""
    classes, counts = np.unique(labels, return_counts=True)
    exact = counts * total / counts.sum()
    quotas = np.floor(exact).astype(int)
    order = np.argsort(-(exact - quotas), kind="stable")
    quotas[order[: total - quotas.sum()]] += 1
    return dict(zip(classes.tolist(), quotas.tolist(), strict=True))


def sample_indices(
    labels: np.ndarray, split: str, fraction: float = FRACTION
) -> np.ndarray:
    """Sorted row indices of the stratified, hash-ranked sample of one split."""
    total = round(len(labels) * fraction)
    chosen = []
    for label, quota in class_quotas(labels, total).items():
        rows = np.flatnonzero(labels == label)
        rank = sorted(
            rows.tolist(),
            key=lambda i: hashlib.sha256(f"{SALT}:{split}:{i}".encode()).digest(),
        )
        chosen.extend(rank[:quota])
    return np.sort(np.array(chosen))


def make_sample(source: Path, target: Path) -> dict[str, np.ndarray]:
    """Write the sample's four IDX .gz files to ``target``; return the indices."""
    train, test = load_mnist(source)
    indices = {}
    for split, (images, labels) in zip(MNIST_FILES, (train, test), strict=True):
        idx = sample_indices(labels, split)
        images_name, labels_name = MNIST_FILES[split]
        save_idx(target / f"{images_name}.gz", images[idx])
        save_idx(target / f"{labels_name}.gz", labels[idx])
        indices[split] = idx
    return indices


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "source", type=Path, help="folder with the four full MNIST IDX files"
    )
    parser.add_argument("target", type=Path, help="folder to write the sample to")
    args = parser.parse_args(argv)
    args.target.mkdir(parents=True, exist_ok=True)
    indices = make_sample(args.source, args.target)
    for split, idx in indices.items():
        print(f"{split}: {len(idx)} rows")
    return 0


if __name__ == "__main__":
    sys.exit(main())
