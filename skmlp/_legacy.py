"""Fitted estimators from skmlp 0.1.0's pickles and files, as today's state.

skmlp 0.1.0 kept a fitted network as about eleven private attributes (the
parameters it was built with, a positional ``_output`` list, flags for the
form of ``y``) and rebuilt it from the parameters. Its pickles and its saved
files (format 2, and format 1 with a ``.keras`` network) still load: this
module turns what they hold into a ``Spec``, targets and arrays, the state
``_BaseMLP._set_fitted_state`` takes.
"""

from __future__ import annotations

import io
import json
import re
import tempfile
import zipfile
from pathlib import Path
from typing import Any

import numpy as np

from ._keras import keras
from ._targets import ClassTargets, RegressionTargets
from ._validation import check_keras_config

# 0.1.0's fitted attributes beside the network and the public ones.
LEGACY = (
    "_built_with",
    "_output",
    "_y_ndim",
    "_y_one_hot",
    "_y_sparse",
    "_multilabel",
    "_dtype",
)


def fitted_from_legacy(cls, state: dict[str, Any]) -> tuple[dict, dict]:
    """0.1.0's ``__dict__`` as (the estimator's own state, its fitted state)."""
    from ._state import FITTED, network_arrays

    state = dict(state)
    legacy = {name: state.pop(name) for name in LEGACY if name in state}
    network = state.pop("model_")
    if isinstance(network, bytes):  # a pickle of a network loaded from format 1
        network = network_from_bytes(network)
    if not isinstance(network, dict):  # a Keras model (format 1)
        model = network
        network = network_arrays(model)
        legacy.setdefault(
            "_output",
            [
                int(model.layers[-1].units),
                _activation_name(model.layers[-1].activation),
                None,
                0,  # format 1 kept no row count (Keras' steps per call only)
            ],
        )
    attributes = {name: state.pop(name) for name in FITTED if name in state}
    names = set(cls._get_param_names())
    routed = state.get("_routed_params", {})
    params = {name: state[name] for name in names if name in state}
    built = legacy.get("_built_with") or {}
    as_built = cls(**{**params, **routed, **built})
    units, activation, loss, n_train = legacy["_output"]
    loss = as_built.loss if loss is None else loss
    if "classes_" in attributes:
        form = (
            "multilabel"
            if legacy.get("_multilabel", False)
            else "one_hot"
            if legacy.get("_y_one_hot", False)
            else "labels"
        )
        if loss is None:  # format 1 kept no loss: the rule the fit applied
            loss = _default_class_loss(form, len(attributes["classes_"]))
        targets = ClassTargets(
            classes=np.asarray(attributes["classes_"]),
            form=form,
            sparse=bool(legacy.get("_y_sparse", False)),
            loss=loss,
            output_units=int(units),
            output_activation=activation,
        )
    else:
        targets = RegressionTargets(
            n_outputs=int(attributes.get("n_outputs_", units)),
            ndim=int(legacy.get("_y_ndim", 1)),
            loss="mean_squared_error" if loss is None else loss,
            output_activation=activation,
        )
    spec = as_built._make_spec(
        targets,
        int(attributes["n_features_in_"]),
        legacy.get("_dtype", "float32"),
        int(n_train),
    )
    fitted = {
        "attributes": attributes,
        "spec": spec.to_dict(),
        "targets": targets.to_dict(),
        "network": network,
    }
    return state, fitted


def _activation_name(function) -> str:
    """The Keras name of an activation function ("softmax", "sigmoid", ...)."""
    from ._keras import keras

    name = getattr(function, "__name__", None)
    try:
        if name and keras.activations.get(name) is function:
            return name
    except ValueError:
        pass
    name = keras.activations.serialize(function)
    return name if isinstance(name, str) else name.get("config", name)


def _default_class_loss(form: str, n_classes: int) -> str:
    if form == "multilabel" or n_classes == 2:
        return "binary_crossentropy"
    return "sparse_categorical_crossentropy"


# The most a format-1 network's config may take.
_MAX_CONFIG_BYTES = 64 << 20
# Deeper JSON than any skmlp file or Keras config holds (about 10 levels);
# far below the depth at which Python's parser runs out of stack.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)


def loads_json(data: bytes, what: str):
    """JSON of a saved file, its nesting checked before it is parsed.

    Brackets are counted outside strings (without recursion), so a file
    nested thousands deep is refused with a ValueError, not a RecursionError.
    """
    bare = _JSON_STRING.sub(b"", data)
    depth = deepest = 0
    for start in range(0, len(bare), 1 << 20):
        chunk = np.frombuffer(bare[start : start + (1 << 20)], np.uint8)
        steps = np.isin(chunk, (ord("["), ord("{"))).astype(np.int32) - np.isin(
            chunk, (ord("]"), ord("}"))
        )
        levels = depth + np.cumsum(steps)
        if len(levels):
            deepest, depth = max(deepest, int(levels.max())), int(levels[-1])
    if deepest > MAX_JSON_DEPTH:
        raise ValueError(
            f"{what} is nested {deepest} levels deep; skmlp writes at most "
            f"{MAX_JSON_DEPTH}"
        )
    try:
        return json.loads(data.decode("utf-8"))
    except (ValueError, RecursionError) as exc:  # JSONDecodeError, bad UTF-8
        raise ValueError(f"{what} is not valid JSON ({exc})") from exc


def network_from_bytes(data: bytes, source="the network", limit: int = 4 << 30):
    """The Keras model of a format-1 ``.keras`` file, checked before Keras reads it.

    ``limit`` bounds the file and what its members inflate to (their sizes
    as declared, which Python's zipfile never reads past): checked before
    anything is inflated, so a bomb costs no memory.
    """
    if len(data) > limit:
        raise ValueError(f"{source}: the network is larger than skmlp can hold.")
    with zipfile.ZipFile(io.BytesIO(data)) as inner:
        inflated = sum(info.file_size for info in inner.infolist())
        if inflated > limit:
            raise ValueError(
                f"{source}: model.keras would inflate to {inflated} bytes, more "
                f"than its network can take ({limit}); the file is damaged or "
                f"was not written by skmlp."
            )
        # Keras reads the weights by seeking, which skips zipfile's CRC check.
        damaged = inner.testzip()
        if damaged is not None:
            raise ValueError(
                f"{source}: model.keras's {damaged} is damaged (its CRC does not "
                f"match)."
            )
        _check_network_config(inner, source)
    with tempfile.TemporaryDirectory() as tmp:
        model_file = Path(tmp) / "model.keras"
        model_file.write_bytes(data)
        return keras.saving.load_model(model_file, safe_mode=True)


def _check_network_config(inner: zipfile.ZipFile, path) -> None:
    """Refuse a network whose config names code or a module outside Keras.

    Keras' safe mode is process-wide state (``enable_unsafe_deserialization``
    turns it off for everyone) and older Keras releases let a config import
    any module; an skmlp network needs neither, so this check does not rely
    on them.
    """
    if "config.json" not in inner.namelist():
        raise ValueError(f"{path}: the network has no config.json.")
    if inner.getinfo("config.json").file_size > _MAX_CONFIG_BYTES:
        raise ValueError(f"{path}: the network's config is too large.")
    config = loads_json(inner.read("config.json"), f"{path}: the network's config")
    check_keras_config(config, f"{path}: refusing to load a network")
