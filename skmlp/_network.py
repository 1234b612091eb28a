"""From plain parameters to a compiled-ready Keras model and optimizer.

This is the one place that knows how the labs' knobs become Keras layers; both
estimators (and nothing else) call it.
"""

from __future__ import annotations

import inspect
from typing import Any

import numpy as np

from ._constraints import did_you_mean
from ._keras import keras
from ._params import OPTIMIZERS
from ._validation import InvalidParameterError

_INITIALIZER_ALIASES = {
    "xavier_uniform": "glorot_uniform",
    "xavier_normal": "glorot_normal",
}

# Optimizers whose constructor has a ``momentum`` argument.
_WITH_MOMENTUM = ("sgd", "rmsprop")


def _initializer(value: Any, seed: int | None):
    """A fresh initialiser per layer, seeded from the fit's own seed.

    A seed of its own per layer keeps fits reproducible without touching
    Keras' global generator (an unseeded Keras initialiser draws its seed
    from Python's global ``random`` when made); an initialiser the user
    seeded keeps its seed.
    """
    if isinstance(value, str):
        name = _INITIALIZER_ALIASES.get(value, value)
        if seed is None:
            return keras.initializers.get(name)
        try:
            return keras.initializers.deserialize(
                {"class_name": name, "config": {"seed": seed}}
            )
        except TypeError:  # an initialiser without randomness ("zeros", "ones")
            return keras.initializers.deserialize({"class_name": name, "config": {}})
    config = value.get_config()
    if "seed" in config and config["seed"] is None and seed is not None:
        config["seed"] = seed
    return value.__class__.from_config(config)


_VARIANCE_SCALING = tuple(
    getattr(keras.initializers, name)
    for name in (
        "VarianceScaling",
        "GlorotUniform",
        "GlorotNormal",
        "HeUniform",
        "HeNormal",
        "LecunUniform",
        "LecunNormal",
    )
)


def draw(initializer, shape: tuple[int, ...]) -> np.ndarray | None:
    """Initial values from a Keras built-in initialiser, drawn with NumPy.

    The same distribution as Keras' (its formulas; normal draws truncated at
    two standard deviations, as Keras truncates) from the initialiser's int
    seed. Why not Keras' own draw: on JAX each Keras initialiser compiles a
    small program per shape, 0.1-0.4 s each on a CPU, a third of a small
    network's first fit. A side effect worth having: a seed gives the same
    initial weights on every backend. None for anything else (other or
    subclassed initialisers, unseeded ones), which Keras then draws.
    """
    kind = type(initializer)
    if kind is keras.initializers.Zeros:
        return np.zeros(shape)
    if kind is keras.initializers.Ones:
        return np.ones(shape)
    seed = initializer.get_config().get("seed")
    if not isinstance(seed, int) or isinstance(seed, bool):
        return None
    rng = np.random.default_rng(seed)
    if kind is keras.initializers.RandomUniform:
        return rng.uniform(initializer.minval, initializer.maxval, shape)
    if kind is keras.initializers.RandomNormal:
        return rng.normal(initializer.mean, initializer.stddev, shape)
    if kind is keras.initializers.TruncatedNormal:
        return _truncated_normal(rng, initializer.mean, initializer.stddev, shape)
    # input_axes/output_axes (newer Keras): custom fans, left to Keras.
    axes = (
        getattr(initializer, "input_axes", None),
        getattr(initializer, "output_axes", None),
    )
    if kind not in _VARIANCE_SCALING or axes != (None, None):
        return None
    fan_in, fan_out = (shape[0], shape[0]) if len(shape) == 1 else shape[:2]
    fan = {"fan_in": fan_in, "fan_out": fan_out}.get(
        initializer.mode, (fan_in + fan_out) / 2.0
    )
    scale = initializer.scale / max(1.0, fan)
    if initializer.distribution == "truncated_normal":
        # Keras' constant: the standard deviation of a unit normal cut at +-2.
        return _truncated_normal(rng, 0.0, np.sqrt(scale) / 0.87962566103423978, shape)
    if initializer.distribution == "untruncated_normal":
        return rng.normal(0.0, np.sqrt(scale), shape)
    limit = np.sqrt(3.0 * scale)
    return rng.uniform(-limit, limit, shape)


def _truncated_normal(rng, mean, stddev, shape):
    from scipy.stats import truncnorm

    return truncnorm.rvs(
        -2.0, 2.0, loc=mean, scale=stddev, size=shape, random_state=rng
    )


class _Drawn(keras.initializers.Initializer):
    """Hands a layer the values ``draw`` made, while it builds."""

    def __init__(self, values: np.ndarray):
        self.values = values

    def __call__(self, shape, dtype=None):
        dtype = dtype or keras.config.floatx()
        # With its dtype given, JAX copies an array to the device without
        # compiling (without it, it compiles a program per shape to do so).
        return keras.ops.convert_to_tensor(self.values.astype(dtype), dtype=dtype)


def _dense(units: int, n_in: int, kernel_initializer, bias_initializer, **kwargs):
    """A Dense layer, built, whose initial weights ``draw`` made where it can.

    Built here so that its own initialisers can be set back at once: its
    config and clones show them, not the drawn values.
    """
    kernel = draw(kernel_initializer, (n_in, units))
    bias = draw(bias_initializer, (units,))
    layer = keras.layers.Dense(
        units,
        kernel_initializer=kernel_initializer if kernel is None else _Drawn(kernel),
        bias_initializer=bias_initializer if bias is None else _Drawn(bias),
        **kwargs,
    )
    layer.build((None, n_in))
    layer.kernel_initializer, layer.bias_initializer = (
        kernel_initializer,
        bias_initializer,
    )
    return layer


def _regularizer(l1: float, l2: float):
    if l1 == 0 and l2 == 0:
        return None
    return keras.regularizers.L1L2(l1=float(l1), l2=float(l2))


def build_mlp(spec, seed: int | None = None) -> keras.Model:
    """The Keras model of ``spec``, built, its layers following ``spec.operations()``.

    Kernel and bias regularisers apply to every ``Dense`` layer, the output
    layer included (so that a perceptron with no hidden layer can be
    regularised too); the activity regulariser applies to the hidden layers'
    outputs only. ``seed`` seeds each layer's initialisers and dropout
    (derived seeds per layer); None leaves them to Keras' global generator.
    ``spec.dtype`` is every layer's dtype policy: the type of the weights and
    of the computation.

    Returns
    -------
    keras.Sequential
        The model, built for ``spec.n_features`` inputs and not yet compiled.
    """
    from ._spec import ACTIVATION, BATCH_NORM, DENSE

    def layer_seed(i: int, k: int) -> int | None:
        # The output layer's seeds are layer 0's, as in earlier releases.
        i = 0 if i == spec.n_hidden else i + 1
        return None if seed is None else (seed + 7919 * i + k) % 2**31

    steps = spec.operations()
    widths = spec.widths()
    dtype = spec.dtype
    layers: list = [keras.Input(shape=(spec.n_features,), dtype=dtype, name="pixels")]
    for step, (kind, arg) in enumerate(steps):
        if kind == DENSE:
            output = arg == spec.n_hidden
            # The output Dense takes its activation; a hidden one is followed
            # by its own Activation layer (after batch normalisation).
            activation = spec.output_activation if output else None
            layers.append(
                _dense(
                    widths[arg + 1],
                    widths[arg],
                    _initializer(spec.kernel_initializer, layer_seed(arg, 0)),
                    _initializer(spec.bias_initializer, layer_seed(arg, 1)),
                    activation=activation,
                    kernel_regularizer=_regularizer(spec.kernel_l1, spec.kernel_l2),
                    bias_regularizer=_regularizer(spec.bias_l1, spec.bias_l2),
                    activity_regularizer=None
                    if output
                    else _regularizer(spec.activity_l1, spec.activity_l2),
                    dtype=dtype,
                    name="output" if output else f"dense_{arg + 1}",
                )
            )
        elif kind == BATCH_NORM:
            layers.append(
                keras.layers.BatchNormalization(
                    dtype=dtype, name=f"batch_norm_{arg + 1}"
                )
            )
        elif kind == ACTIVATION:
            if step == len(steps) - 1:
                continue  # the output Dense's own
            hidden = sum(1 for k, _ in steps[:step] if k == DENSE)
            layers.append(
                keras.layers.Activation(arg, dtype=dtype, name=f"{arg}_{hidden}")
            )
        else:  # DROPOUT
            layers.append(
                keras.layers.Dropout(
                    float(spec.dropout[arg]),
                    seed=layer_seed(arg, 2),
                    dtype=dtype,
                    name=f"dropout_{arg + 1}",
                )
            )
    model = keras.Sequential(layers, name="mlp")
    # A symbolic call (no computation): Keras' export, summary() and
    # plot_model need a model that has been called.
    model(keras.KerasTensor((None, spec.n_features), dtype=dtype))
    return model


def network_dtype(wanted: str | None, X) -> str:
    """The network's float type for a new fit on ``X`` (the ``dtype`` parameter)."""
    if wanted is None:
        return keras.config.floatx()
    if wanted == "input":
        # scikit-learn's MLP rule: float32 stays float32, anything else float64.
        dtypes = getattr(X, "dtypes", None) if not hasattr(X, "dtype") else None
        if dtypes is not None:  # a DataFrame
            float32 = len(dtypes) > 0 and all(d == np.float32 for d in dtypes)
        else:
            float32 = getattr(X, "dtype", None) == np.float32
        if float32 or not float64_allowed():
            return "float32"
        return "float64"
    if wanted == "float64" and not float64_allowed():
        raise InvalidParameterError(
            'dtype="float64" on the JAX backend needs JAX\'s 64-bit mode, which is '
            'off: call jax.config.update("jax_enable_x64", True) first (before any '
            'JAX array is made), or use dtype="input" to train in float64 where '
            "the backend allows it."
        )
    return wanted


def float64_allowed() -> bool:
    if keras.backend.backend() != "jax":
        return True
    import jax

    return bool(jax.config.read("jax_enable_x64"))


def make_optimizer(
    optimizer: Any,
    learning_rate: float | None,
    momentum: float,
    extra: dict[str, Any],
) -> keras.optimizers.Optimizer:
    """A fresh Keras optimizer from a name, a class or an instance.

    ``extra`` holds the ``optimizer__*`` arguments routed from the estimator.
    A new object is made at every fit, so an optimizer instance given as a
    parameter is never trained in place and the estimator stays clonable.
    """
    kwargs = dict(extra)
    if learning_rate is not None:
        kwargs["learning_rate"] = float(learning_rate)
    if isinstance(optimizer, str):
        name = optimizer
        if momentum:
            if name not in _WITH_MOMENTUM:
                raise InvalidParameterError(
                    f"momentum={momentum} applies to 'sgd' and 'rmsprop' only; "
                    f"optimizer={name!r} has none (for Adam-like optimizers set "
                    f"optimizer__beta_1 instead)."
                )
            kwargs["momentum"] = float(momentum)
        cls = getattr(keras.optimizers, OPTIMIZERS[name])
    elif isinstance(optimizer, keras.optimizers.Optimizer):
        cls = type(optimizer)
        kwargs = {**optimizer.get_config(), **kwargs}
        kwargs.pop("name", None)
        if momentum and "momentum" in kwargs:
            kwargs["momentum"] = float(momentum)
        return cls.from_config(kwargs)
    else:  # an optimizer class
        cls = optimizer
        if momentum:
            kwargs["momentum"] = float(momentum)
    known = _argument_names(cls) | _argument_names(keras.optimizers.Optimizer)
    for name in kwargs:
        if name not in known:
            raise InvalidParameterError(
                f"optimizer__{name} is not an argument of {cls.__name__}."
                f"{did_you_mean(name, known)}"
            )
    return cls(**kwargs)


def _argument_names(cls) -> set[str]:
    parameters = inspect.signature(cls.__init__).parameters.values()
    return {
        p.name
        for p in parameters
        if p.kind is p.KEYWORD_ONLY or p.kind is p.POSITIONAL_OR_KEYWORD
    } - {"self"}


# scikit-learn's names of the losses its MLPs and other estimators use, as
# Keras' (None: the classifier's own cross-entropy, as for loss=None).
SKLEARN_LOSSES = {
    "squared_error": "mean_squared_error",
    "absolute_error": "mean_absolute_error",
    "poisson": "poisson",
    "log_loss": None,
}


def keras_loss(loss: Any) -> Any:
    """The ``loss`` parameter in Keras' terms (scikit-learn's names mapped)."""
    if isinstance(loss, str) and loss in SKLEARN_LOSSES:
        return SKLEARN_LOSSES[loss]
    return loss


# Keras' loss names, for "did you mean" on a misspelt one.
LOSSES = (
    "binary_crossentropy", "binary_focal_crossentropy", "categorical_crossentropy",
    "categorical_focal_crossentropy", "sparse_categorical_crossentropy",
    "categorical_hinge", "hinge", "squared_hinge", "kl_divergence", "poisson",
    "mean_squared_error", "mse", "mean_absolute_error", "mae",
    "mean_absolute_percentage_error", "mean_squared_logarithmic_error", "huber",
    "log_cosh", "cosine_similarity", *SKLEARN_LOSSES,
)  # fmt: skip


def _loss_name(loss: Any) -> str:
    """Snake-case name of a loss given by name or as a Keras Loss object."""
    if loss is None or isinstance(loss, str):
        return loss or ""
    name = type(loss).__name__
    return "".join("_" + c.lower() if c.isupper() else c for c in name).lstrip("_")


def is_binary_loss(loss: Any) -> bool:
    """Losses of one sigmoid unit against 0/1 targets."""
    return _loss_name(loss).startswith("binary_")


def is_sparse_loss(loss: Any) -> bool:
    """Losses that take class indices; every other loss gets one-hot targets."""
    return _loss_name(loss).startswith("sparse_")


def output_layer_for(n_classes: int, loss: Any) -> tuple[int, str]:
    """Units and activation of a classifier's output layer.

    Two classes with the default (or a binary) loss get one sigmoid unit, as
    in the labs; otherwise one softmax unit per class.
    """
    if n_classes == 2 and (loss is None or is_binary_loss(loss)):
        return 1, "sigmoid"
    return n_classes, "softmax"


def regressor_output_for(loss: Any) -> str:
    """The regressor's output activation: positive rates for the Poisson loss."""
    return "exponential" if _loss_name(loss) == "poisson" else "linear"
