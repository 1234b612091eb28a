"""Save and load fitted estimators without pickle: JSON plus the weights as arrays."""

from __future__ import annotations

import io
import json
import os
import warnings
import zipfile
from pathlib import Path

import numpy as np
from sklearn.utils.validation import check_is_fitted

from ._base import _BaseMLP
from ._files import atomic_path
from ._keras import keras
from ._legacy import network_from_bytes
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
        raise ValueError(
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
    np.savez(network, **_flat(state["network"]))
    # Written beside the target and renamed: never half a file at `path`.
    with (
        atomic_path(path) as partial,
        zipfile.ZipFile(partial, "w", zipfile.ZIP_DEFLATED) as archive,
    ):
        archive.writestr("estimator.json", json.dumps(meta, indent=1))
        archive.writestr("network.npz", network.getvalue())


def _flat(arrays: dict) -> dict:
    return {
        f"{kind}_{i}": value
        for kind, values in arrays.items()
        for i, value in enumerate(values)
    }


def _unflat(npz) -> dict:
    arrays: dict = {"weights": [], "optimizer": []}
    for kind in arrays:
        i = 0
        while f"{kind}_{i}" in npz.files:
            arrays[kind].append(npz[f"{kind}_{i}"])
            i += 1
    if len(npz.files) != sum(map(len, arrays.values())):
        raise ValueError("unexpected arrays in network.npz")
    return arrays


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
    """
    path = Path(path)
    try:
        archive = zipfile.ZipFile(path)
    except zipfile.BadZipFile:
        raise ValueError(f"{path} is not an skmlp file (not a zip archive).") from None
    with archive:
        names = set(archive.namelist())
    if "schema.json" in names and "estimator.json" not in names:
        return _load_skops(path)  # skmlp.save of a Pipeline
    with zipfile.ZipFile(path) as archive:
        network = "network.npz" if "network.npz" in names else "model.keras"
        if not {"estimator.json", network} <= names:
            raise ValueError(
                f"{path} is not an skmlp file (estimator.json or network.npz missing)."
            )
        try:
            meta = json.loads(_read_member(archive, "estimator.json", path))
        except ValueError as exc:  # includes JSONDecodeError and bad UTF-8
            raise ValueError(
                f"{path}: estimator.json is not valid JSON ({exc})."
            ) from None
        formats = (2, 3) if network == "network.npz" else (1,)
        if (
            not isinstance(meta, dict)
            or meta.get("format") not in formats
            or meta.get("class") not in _CLASSES
        ):
            found = meta if not isinstance(meta, dict) else meta.get("format")
            raise ValueError(f"{path}: unsupported skmlp file (format {found!r}).")
        data = _read_member(archive, network, path)
    if network == "model.keras":  # an earlier release's file
        weights = network_from_bytes(data, path, _MAX_MEMBER_BYTES[network])
    else:
        try:
            with np.load(io.BytesIO(data), allow_pickle=False) as npz:
                weights = _unflat(npz)
        except (ValueError, OSError, zipfile.BadZipFile) as exc:
            raise ValueError(f"{path}: network.npz is not valid ({exc}).") from None
    try:
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
                "network": weights,
            }
        else:  # 0.1.0's attributes
            from ._base import FITTED
            from ._legacy import LEGACY, fitted_from_legacy

            unknown = set(attributes) - set(FITTED) - set(LEGACY)
            if unknown:
                raise ValueError(f"unknown fitted attributes {sorted(unknown)}")

            built = {
                name: _decode_param(value)
                for name, value in meta.get("built", {}).items()
            }
            legacy = {
                **estimator.__dict__,
                **attributes,
                "_built_with": {**estimator.get_params(deep=False), **built},
                "model_": weights,
            }
            _, state = fitted_from_legacy(cls, legacy)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(
            f"{path}: malformed or invalid estimator.json ({exc})."
        ) from None
    try:
        estimator._set_fitted_state(state)
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        raise ValueError(f"{path}: the saved network is invalid ({exc}).") from None
    return estimator


# Bounds on what a saved file may make load() read: far above any skmlp
# network's (a 10x4096 MLP is about 700 MB of weights), far below a bomb.
_MAX_MEMBER_BYTES = {
    "estimator.json": 64 << 20,
    "model.keras": 4 << 30,
    "network.npz": 4 << 30,
}


def _read_member(archive: zipfile.ZipFile, name: str, path) -> bytes:
    """A member's bytes, refusing more than ``_MAX_MEMBER_BYTES`` (zip bombs)."""
    limit = _MAX_MEMBER_BYTES[name]
    if archive.getinfo(name).file_size > limit:
        raise ValueError(f"{path}: {name} is larger than an skmlp file can hold.")
    with archive.open(name) as member:
        data = member.read(limit + 1)
    if len(data) > limit:
        raise ValueError(f"{path}: {name} is larger than an skmlp file can hold.")
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
