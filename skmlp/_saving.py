"""Save and load fitted estimators without pickle: JSON plus the weights as arrays."""

from __future__ import annotations

import contextlib
import io
import itertools
import json
import math
import numbers
import os
import re
import struct
import warnings
import zipfile
import zlib
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseMLP
from ._files import atomic_path
from ._keras import keras
from ._legacy import fitted_from_legacy, loads_json, network_from_bytes
from ._spec import Spec
from ._state import FITTED, check_described
from ._targets import targets_from_dict
from ._validation import check_keras_config

# The classes a file may name (taken from the package's public names, so
# that this module needs no import of the estimators' module).
_CLASSES = ("MLPKerasClassifier", "MLPKerasRegressor")
# 3: the network's spec beside its arrays; 2: parameters and 0.1.0's fitted
# attributes beside the arrays; 1: a .keras file. 2 and 1 are still read.
_FORMAT = 3


def _encode_param(name, value):
    if isinstance(value, tuple):
        return {"tuple": [_encode_param(name, v) for v in value]}
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    if isinstance(
        value,
        (keras.optimizers.Optimizer, keras.initializers.Initializer, keras.losses.Loss),
    ) or (isinstance(value, type) and issubclass(value, keras.optimizers.Optimizer)):
        config = keras.saving.serialize_keras_object(value)
        # Refused here, not only at load: a class of your own would not load.
        check_keras_config(
            config, f"cannot save {name}={value!r}: skmlp.save refuses an object"
        )
        return {"keras": config}
    if isinstance(value, np.generic):
        return value.item()
    try:
        json.dumps(value)
    except TypeError:
        warnings.warn(
            f"parameter {name}={value!r} cannot be saved and is reset to None; "
            f"set it again after skmlp.load if you fit again.",
            UserWarning,
            stacklevel=4,
        )
        return None
    return value


def _decode_param(value):
    if isinstance(value, dict) and set(value) == {"tuple"}:
        return tuple(_decode_param(v) for v in value["tuple"])
    if isinstance(value, dict) and set(value) == {"keras"}:
        # Only Keras' own classes, checked before Keras reads the config (its
        # safe mode is a process-wide switch that others may turn off).
        check_keras_config(value["keras"], "refusing a saved parameter")
        return keras.saving.deserialize_keras_object(value["keras"], safe_mode=True)
    return value


def _encode_array(array: np.ndarray) -> dict:
    return {"dtype": array.dtype.str, "values": array.tolist()}


# skmlp's own types that a skops file of a Pipeline may hold; skops trusts
# scikit-learn's and NumPy's by itself.
_SKOPS_TRUSTED = {
    "skmlp.estimators.MLPKerasClassifier",
    "skmlp.estimators.MLPKerasRegressor",
    "skmlp.preprocessing.IDXLoader",
    "skmlp.preprocessing.SubsetSplitter",
}


def save(obj, path: str | os.PathLike) -> None:
    """Save a fitted skmlp estimator, or a ``Pipeline`` holding one, without pickle.

    An estimator goes in skmlp's own file (``estimator.save``); a
    ``Pipeline`` (or any scikit-learn object) in skops' format, which the
    ``skops`` extra provides. ``skmlp.load`` reads both, and neither can run
    code hidden in the file.

    Parameters
    ----------
    obj : MLPKerasClassifier, MLPKerasRegressor or a scikit-learn object
    path : str or path-like
        The file to write (``.skmlp`` for an estimator, ``.skops`` else).
    """
    if isinstance(obj, _BaseMLP):
        save_estimator(obj, path)
        return
    try:
        import skops.io as sio
    except ImportError:
        raise ImportError(
            f"saving a {type(obj).__name__} needs skops: pip install skops "
            f"(an skmlp estimator alone saves without it)."
        ) from None
    with atomic_path(path) as partial:
        try:
            sio.dump(obj, partial)
        except TypeError as exc:  # skops cannot store a Keras optimizer object
            found = _keras_objects(obj)
            if not found:
                raise
            raise TypeError(
                f"skops cannot store this {type(obj).__name__}: its parameters "
                f"{', '.join(found)} are Keras objects. Give them by name "
                f"(optimizer='sgd' with learning_rate=, momentum= and "
                f"optimizer__<argument>=; kernel_initializer='he_normal'), or "
                f"save the network alone with its save() method, which stores "
                f"Keras objects by their configuration."
            ) from exc


def _keras_objects(obj) -> list[str]:
    """``name=value`` for each parameter of ``obj`` that is a Keras object."""
    get_params = getattr(obj, "get_params", None)
    params = get_params(deep=True) if callable(get_params) else {}
    return [
        f"{name}={value!r}"
        for name, value in params.items()
        if (value if isinstance(value, type) else type(value)).__module__.split(".")[0]
        == "keras"
    ]


def _load_skops(path: Path):
    import skops.io as sio

    untrusted = set(sio.get_untrusted_types(file=path))
    unknown = sorted(untrusted - _SKOPS_TRUSTED)
    if unknown:
        keras_hint = (
            " Keras objects as a network's parameters can be given by name "
            "instead (optimizer='sgd', kernel_initializer='he_normal', ...), or "
            "the network saved alone with its save() method."
            if any(name.startswith("keras.") for name in unknown)
            else ""
        )
        raise _FileError(
            f"{path} holds types that skmlp does not load: {unknown}. If you trust "
            f"the file, load it with skops.io.load(path, trusted=[...]).{keras_hint}"
        )
    return sio.load(path, trusted=sorted(untrusted))


def save_estimator(estimator, path) -> None:
    from . import __version__

    check_is_fitted(estimator, "model_")
    state = estimator._fitted_state()
    attributes = state["attributes"]
    meta = {
        "format": _FORMAT,
        "skmlp_version": __version__,
        "class": type(estimator).__name__,
        "params": {
            name: _encode_param(name, value)
            for name, value in estimator.get_params(deep=False).items()
        },
        # The network as built (set_params since has changed the parameters,
        # not the fitted network): load() rebuilds it from this.
        "spec": {
            name: _encode_param(name, value) for name, value in state["spec"].items()
        },
        "targets": {
            name: _encode_param(name, value) for name, value in state["targets"].items()
        },
        "fitted": {
            name: value
            for name, value in attributes.items()
            if not isinstance(value, np.ndarray)
        },
        "arrays": {
            name: _encode_array(value)
            for name, value in attributes.items()
            if isinstance(value, np.ndarray)
        },
    }
    # The network as plain arrays (weights, optimizer state): load() rebuilds
    # it from the spec and reads no Keras configuration at all.
    network = io.BytesIO()
    with zipfile.ZipFile(network, "w") as npz:  # np.savez's layout, its bytes fixed
        for name, value in _flat(state["network"]).items():
            array = io.BytesIO()
            np.lib.format.write_array(array, np.asarray(value), allow_pickle=False)
            npz.writestr(_entry(f"{name}.npy", zipfile.ZIP_STORED), array.getvalue())
    # Written beside the target and renamed: never half a file at `path`.
    # Fixed dates, order and key order: the same estimator gives the same bytes.
    with (
        atomic_path(path) as partial,
        zipfile.ZipFile(partial, "w") as archive,
    ):
        archive.writestr(
            _entry("estimator.json", zipfile.ZIP_DEFLATED),
            json.dumps(meta, indent=1, sort_keys=True),
        )
        archive.writestr(
            _entry("network.npz", zipfile.ZIP_DEFLATED), network.getvalue()
        )


def _entry(name: str, compression: int) -> zipfile.ZipInfo:
    """A zip member whose header is the same whenever and wherever it is written."""
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = compression
    info.create_system = 3  # Unix, not the platform's default
    info.external_attr = 0o644 << 16
    return info


def _flat(arrays: dict) -> dict:
    return {
        f"{kind}_{i}": value
        for kind, values in arrays.items()
        for i, value in enumerate(values)
    }


def load(path: str | os.PathLike):
    """Load what ``estimator.save(path)`` or ``skmlp.save(obj, path)`` wrote.

    Only Keras' safe deserialisation and JSON are used (for a ``Pipeline``,
    skops', trusting scikit-learn's types and skmlp's own, nothing else): a
    file from an unknown source cannot run code when loaded.

    Parameters
    ----------
    path : str or path-like

    Returns
    -------
    MLPKerasClassifier, MLPKerasRegressor or the saved scikit-learn object
        Fitted, predicting exactly as the saved one did.

    Raises
    ------
    ValueError
        Naming the file and what is wrong with it, for a file that is damaged,
        truncated or not skmlp's (the error that revealed it is its cause).
    """
    path = Path(path)
    with path.open("rb") as file:  # a missing file: FileNotFoundError, as open's
        try:
            archive = zipfile.ZipFile(file)
        except _DAMAGE as exc:
            raise ValueError(
                f"{path} is not an skmlp file (not a zip archive: {exc})."
            ) from exc
        with archive:
            names = set(archive.namelist())
            if "schema.json" in names and "estimator.json" not in names:
                skops = True
            else:
                skops = False
                estimator = _load_archive(archive, names, path)
    if skops:
        with _reading(path, "the skops file cannot be loaded"):
            return _load_skops(path)  # skmlp.save of a Pipeline
    return estimator


class _FileError(ValueError):
    """A refusal that already names the file: passed on as it is."""


# What reading a damaged or hostile file can raise, from zipfile (BadZipFile,
# zlib.error; RuntimeError for an encrypted member, NotImplementedError for
# an unknown compression; EOFError and OSError for a truncated one), JSON
# (ValueError, RecursionError), NumPy's .npy headers (ValueError) and h5py
# (OSError), or from values of the wrong type where another was expected.
_DAMAGE = (
    zipfile.BadZipFile,
    zlib.error,
    RuntimeError,  # RecursionError and NotImplementedError too
    EOFError,
    OSError,
    MemoryError,
    ValueError,
    KeyError,
    IndexError,
    TypeError,
    AttributeError,
    OverflowError,
    struct.error,
)


# What a state whose parts disagree raises where they are checked and built.
_INVALID = (KeyError, IndexError, TypeError, ValueError, AttributeError, OverflowError)


@contextlib.contextmanager
def _reading(path, problem: str):
    """Turn what reading a part of the file raises into a ValueError naming it.

    ``problem`` says which part ("network.npz cannot be read"); the error
    that revealed it is the new one's cause.
    """
    try:
        yield
    except _FileError:
        raise
    except _DAMAGE as exc:
        raise _FileError(
            f"{path}: {problem} ({type(exc).__name__}: {exc}). The file is damaged "
            f"or was not written by skmlp: save the estimator again, or copy the "
            f"file again from where it was saved."
        ) from exc


def _load_archive(archive: zipfile.ZipFile, names: set, path):
    """The estimator of an skmlp file: every member read through ``_reading``."""
    network = "network.npz" if "network.npz" in names else "model.keras"
    if not {"estimator.json", network} <= names:
        raise ValueError(
            f"{path} is not an skmlp file (estimator.json or network.npz missing)."
        )
    with _reading(path, "estimator.json cannot be read"):
        data = _read_member(archive, "estimator.json", _MAX_JSON_BYTES, path)
    try:
        meta = loads_json(data, "estimator.json")
    except ValueError as exc:  # not JSON, not UTF-8, or nested too deep
        raise _FileError(f"{path}: {exc}.") from exc
    formats = (2, 3) if network == "network.npz" else (1,)
    if (
        not isinstance(meta, dict)
        or meta.get("format") not in formats
        or meta.get("class") not in _CLASSES
    ):
        found = meta.get("format") if isinstance(meta, dict) else type(meta).__name__
        raise ValueError(f"{path}: unsupported skmlp file (format {found!r}).")
    with _reading(path, "malformed or invalid estimator.json"):
        estimator, state, shapes = _state_of(meta, path)
        # The most the network may take, from the layers the file describes.
        limit = _network_limit(shapes)
    if meta["format"] != 1:  # what the file describes agrees, before any array is read
        try:
            attributes = state["attributes"]
            check_described(
                estimator,
                Spec.from_dict(state["spec"]),
                targets_from_dict(state["targets"], attributes.get("classes_")),
                attributes,
            )
        except _INVALID as exc:
            raise ValueError(f"{path}: the saved network is invalid ({exc}).") from exc
    with _reading(path, f"{network} cannot be read"):
        data = _read_member(archive, network, limit, path)
        if network == "model.keras":  # an earlier release's file
            model = network_from_bytes(data, path, limit)
            _, state = fitted_from_legacy(type(estimator), {**state, "model_": model})
        else:
            state["network"] = _read_npz(data, shapes, path)
    try:
        estimator._set_fitted_state(state)
    except _INVALID as exc:
        raise ValueError(f"{path}: the saved network is invalid ({exc}).") from exc
    return estimator


def _state_of(meta: dict, path):
    """(estimator, its fitted state without the network, the weights' shapes)."""
    import skmlp

    cls = getattr(skmlp, meta["class"])
    params = {name: _decode_param(value) for name, value in meta["params"].items()}
    estimator = cls(**params)
    estimator._check_params()
    attributes = {
        **dict(meta["fitted"]),
        **{
            name: _decode_array(encoded, path)
            for name, encoded in dict(meta["arrays"]).items()
        },
    }
    if meta["format"] == 3:
        state = {
            "attributes": attributes,
            "spec": {k: _decode_param(v) for k, v in meta["spec"].items()},
            "targets": {k: _decode_param(v) for k, v in meta["targets"].items()},
        }
        return estimator, state, Spec.from_dict(state["spec"]).weight_shapes()
    # 0.1.0's attributes
    from ._legacy import LEGACY

    unknown = set(attributes) - set(FITTED) - set(LEGACY)
    if unknown:
        raise ValueError(f"unknown fitted attributes {sorted(unknown)}")
    built = {
        name: _decode_param(value) for name, value in meta.get("built", {}).items()
    }
    legacy = {
        **estimator.__dict__,
        **attributes,
        "_built_with": {**estimator.get_params(deep=False), **built},
    }
    if meta["format"] == 1:  # the spec comes from the network, read later
        as_built = cls(**{**params, **built})
        outputs = attributes.get("classes_", [])
        widths = (
            int(attributes["n_features_in_"]),
            *_hidden_sizes(as_built.hidden_layer_sizes),
            max(len(outputs), int(attributes.get("n_outputs_") or 1)),
        )
        return estimator, legacy, _dense_shapes(widths, as_built.batch_normalization)
    _, state = fitted_from_legacy(
        cls, {**legacy, "model_": {"weights": [], "optimizer": []}}
    )
    return estimator, state, Spec.from_dict(state["spec"]).weight_shapes()


def _hidden_sizes(sizes) -> tuple[int, ...]:
    return (
        (int(sizes),) if isinstance(sizes, numbers.Integral) else tuple(map(int, sizes))
    )


def _dense_shapes(widths, batch_normalization: bool) -> list[tuple[int, ...]]:
    """The weight shapes of dense layers of these widths (format 1's bound)."""
    shapes = []
    for i, (a, b) in enumerate(itertools.pairwise(widths)):
        shapes += [(a, b), (b,)]
        if batch_normalization and i < len(widths) - 2:
            shapes += [(b,)] * 4
    return shapes


# Optimizer state per weight, at most (Adam's m and v, AMSGrad's third);
# a few scalars (iterations, learning rate) come on top.
_SLOTS = 3


def _network_limit(shapes) -> int:
    """The most bytes a network of these weight shapes takes in a file.

    Float64 weights, ``_SLOTS`` optimizer arrays as large for each, 4 KiB of
    headers per array (HDF5's, for format 1's .keras) and 1 MiB besides.
    """
    if not all(isinstance(d, int) and d >= 0 for shape in shapes for d in shape):
        raise ValueError(f"the network's layer sizes {shapes} are not sizes")
    elements = sum(math.prod(shape) for shape in shapes)
    arrays = len(shapes) * (1 + _SLOTS) + 16
    return elements * 8 * (1 + _SLOTS) + arrays * 4096 + (1 << 20)


_MEMBER_NAME = re.compile(r"(weights|optimizer)_(\d{1,6})\.npy")


def _read_npz(data: bytes, shapes: list, path) -> dict:
    """network.npz's arrays, each header checked before its values are read.

    The weights must have exactly the shapes the spec implies; an optimizer
    array may be no larger than the largest weight. Every array's declared
    size must be what its member holds, so nothing is allocated that the
    file does not contain and the network does not need.
    """
    found: dict = {"weights": {}, "optimizer": {}}
    largest = max((math.prod(shape) for shape in shapes), default=0)
    with zipfile.ZipFile(io.BytesIO(data)) as npz:
        infos = npz.infolist()
        if len(infos) > len(shapes) * (1 + _SLOTS) + 16:
            raise ValueError(
                f"{len(infos)} arrays, more than a network of {len(shapes)} weights "
                f"and its optimizer has"
            )
        for info in infos:
            match = _MEMBER_NAME.fullmatch(info.filename)
            if match is None:
                raise ValueError(f"unexpected array {info.filename!r}")
            kind, i = match[1], int(match[2])
            if kind == "weights" and i >= len(shapes):
                raise ValueError(
                    f"{info.filename}: the network the spec describes has "
                    f"{len(shapes)} weights"
                )
            with npz.open(info) as member:
                found[kind][i] = _read_npy(
                    member,
                    info,
                    shapes[i] if kind == "weights" else None,
                    largest,
                )
    arrays = {}
    for kind, values in found.items():
        if sorted(values) != list(range(len(values))):
            raise ValueError(
                f"the {kind} arrays are not numbered 0 to {len(values) - 1}"
            )
        arrays[kind] = [values[i] for i in range(len(values))]
    if len(arrays["weights"]) != len(shapes):
        raise ValueError(
            f"{len(arrays['weights'])} weights, but the network the spec describes "
            f"has {len(shapes)}"
        )
    return arrays


def _read_npy(member, info: zipfile.ZipInfo, shape, largest: int) -> np.ndarray:
    """One .npy member; its header checked against ``shape`` (or ``largest``)
    and against the member's size before its values are read."""
    name = info.filename
    version = np.lib.format.read_magic(member)
    if version == (1, 0):
        declared, fortran, dtype = np.lib.format.read_array_header_1_0(member)
    elif version == (2, 0):
        declared, fortran, dtype = np.lib.format.read_array_header_2_0(member)
    else:
        raise ValueError(f"{name}: unsupported .npy version {version}")
    kinds = "f" if shape is not None else "biuf"  # weights are floats
    if dtype.hasobject or dtype.kind not in kinds or dtype.itemsize > 8:
        raise ValueError(f"{name} declares {dtype} values; skmlp saves numbers")
    if any(d < 0 for d in declared):
        raise ValueError(f"{name} declares shape {declared}")
    if shape is not None and declared != tuple(shape):
        raise ValueError(
            f"the saved weights' shapes ({name}: {declared}) are not those of the "
            f"network the spec describes ({tuple(shape)})"
        )
    count = math.prod(declared)
    if shape is None and count > largest:
        raise ValueError(
            f"{name} declares {count} values, more than any weight of the network "
            f"({largest})"
        )
    nbytes = count * dtype.itemsize
    if info.file_size != member.tell() + nbytes:
        raise ValueError(
            f"{name} declares {declared} {dtype} ({nbytes} bytes) but holds "
            f"{info.file_size - member.tell()} bytes"
        )
    values = member.read(nbytes)
    if len(values) != nbytes or member.read(1):
        raise ValueError(f"{name} holds {len(values)} bytes, not {nbytes}")
    return np.frombuffer(values, dtype).reshape(declared, order="F" if fortran else "C")


# The most estimator.json may take: far above any estimator's (its history
# and feature names), far below a bomb. The network's bound comes from the
# layers the file describes (_network_limit).
_MAX_JSON_BYTES = 64 << 20


def _read_member(archive: zipfile.ZipFile, name: str, limit: int, path) -> bytes:
    """A member's bytes, refusing more than ``limit`` (zip bombs).

    The size the archive declares is checked first, and zipfile never reads
    past it, so a member that would inflate further costs nothing.
    """
    bound = (
        "skmlp writes" if name == "estimator.json" else "the network it describes takes"
    )
    size = archive.getinfo(name).file_size
    if size > limit:
        raise _FileError(
            f"{path}: {name} declares {size} bytes, more than {bound} ({limit}): "
            f"larger than an skmlp file can hold. The file is damaged or was not "
            f"written by skmlp."
        )
    with archive.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise _FileError(f"{path}: {name} is larger than an skmlp file can hold.")
    return data


def _decode_array(encoded: dict, path) -> np.ndarray:
    """An array saved by ``_encode_array``, in a dtype an estimator can have."""
    dtype = np.dtype(encoded["dtype"])
    values = encoded["values"]
    if dtype.kind == "U":  # as wide as the strings are, whatever the file says
        return np.asarray(values, dtype=str)
    if dtype.kind == "O":  # JSON values: strings and numbers
        return np.array(values, dtype=object)
    if dtype.kind not in "biuf":
        raise ValueError(f"{path}: unsupported array type {dtype}.")
    return np.asarray(values, dtype=dtype)
