"""Data for the labs: the IDX codec, MNIST (folder, cache, bundled sample), synthetic data."""

from ._idx import load_idx, read_idx_header, save_idx, to_features
from ._mnist import (
    MNIST_MIRRORS,
    clear_data_home,
    fetch_mnist,
    get_data_home,
    get_mnist,
    load_mnist,
    load_mnist_sample,
    pixel_names,
)
from ._synthetic import make_cosine_classes

__all__ = [
    "MNIST_MIRRORS",
    "clear_data_home",
    "fetch_mnist",
    "get_data_home",
    "get_mnist",
    "load_idx",
    "load_mnist",
    "load_mnist_sample",
    "make_cosine_classes",
    "pixel_names",
    "read_idx_header",
    "save_idx",
    "to_features",
]
