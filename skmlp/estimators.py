"""MLPKerasClassifier and MLPKerasRegressor: Keras MLPs as scikit-learn estimators.

Both are thin subclasses of one core, ``_BaseMLP``, which validates the
parameters, builds the network (``_network.build_mlp``), seeds every random
number generator, trains with ``keras.Model.fit`` and predicts through a
low-overhead path. The subclasses only say how targets are encoded and how
outputs become predictions.
"""

from __future__ import annotations

import contextlib
import copy
import dataclasses
import itertools
import math
import numbers
import os
import random
import time
import uuid
import warnings
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.multiclass import check_classification_targets, type_of_target
from sklearn.utils.validation import check_is_fitted, column_or_1d, validate_data

from . import _batch, _engine, _network, _params
from ._constraints import did_you_mean
from ._engine._optim import split as split_optimizer
from ._engine._predict import activation_name, make_predictor
from ._engine._program import HYPER_NAMES
from ._keras import keras, to_numpy
from ._validation import (
    InvalidParameterError,
    check_params,
    layer_sizes,
    per_layer,
)

# Extra Keras arguments reach Keras through these prefixes, as in scikeras:
# ``optimizer__beta_1=0.95`` goes to the optimizer's constructor, and so on.
ROUTING_PREFIXES = ("optimizer__", "compile__", "fit__")

# Rows per call on the prediction path; bounds the memory of one forward pass.
_PREDICT_CHUNK = 8192


def _seed_from(random_state) -> int:
    """An int seed for one fit, touching no global random generator."""
    if isinstance(random_state, numbers.Integral):
        return int(random_state)
    if random_state is None:  # fresh entropy from the OS
        return int(np.random.SeedSequence().generate_state(1)[0])
    return int(random_state.randint(np.iinfo(np.int32).max))


@contextlib.contextmanager
def _seeded(random_state):
    """Seed Keras' global generators for ``engine="keras"``'s ``model.fit``.

    Keras' own fit shuffles with the global generators, so this path alone
    reseeds them; Python's and NumPy's states are given back afterwards.
    """
    seed = random_state
    python_state, numpy_state = random.getstate(), np.random.get_state()
    keras.utils.set_random_seed(seed)
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)


def _check_sample_weight(sample_weight, n_samples: int) -> np.ndarray | None:
    if sample_weight is None:
        return None
    sample_weight = np.asarray(sample_weight, dtype=np.float32)
    if sample_weight.ndim == 0:
        sample_weight = np.full(n_samples, sample_weight, dtype=np.float32)
    if sample_weight.shape != (n_samples,):
        raise ValueError(
            f"sample_weight has shape {sample_weight.shape}; expected ({n_samples},)"
            f", one weight per sample."
        )
    if not np.all(np.isfinite(sample_weight)) or np.any(sample_weight < 0):
        raise ValueError("sample_weight must be finite and non-negative.")
    if not np.any(sample_weight > 0):
        raise ValueError("Sample weights must contain at least one non-zero number.")
    return sample_weight


@dataclasses.dataclass
class _FitJob:
    """A fit between ``_begin_fit`` and ``_end_fit``: how to train, and the seed."""

    reset: bool
    seed: int
    calls: int
    engine: dict | None = None  # keyword arguments of _engine.train
    keras: tuple | None = None  # arguments of _fit_keras, when Keras trains
    X: Any = None  # the validated training data, validation rows included
    n_train: int = 0


class _BaseMLP(BaseEstimator):
    """The core shared by MLPKerasClassifier and MLPKerasRegressor."""

    _skmlp_constraints: dict = _params.CONSTRAINTS
    # What a fit leaves besides the network, as save() stores it: JSON
    # values, then arrays. tests/test_params.py checks that a fit sets
    # nothing else, so a new fitted attribute cannot be forgotten here.
    _SAVED_STATE = (
        "n_features_in_",
        "n_iter_",
        "history_",
        "n_outputs_",
        "_y_ndim",
        "_y_one_hot",
        "_y_sparse",
        "_multilabel",
        "_output",
        "_dtype",
        "_seed",
        "_fit_calls",
        "tensorboard_log_dir_",
    )
    _SAVED_ARRAYS = ("classes_", "feature_names_in_")

    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        *,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        dropout=0.2,
        batch_normalization=False,
        kernel_l1=0.0,
        kernel_l2=0.0,
        bias_l1=0.0,
        bias_l2=0.0,
        activity_l1=0.0,
        activity_l2=0.0,
        optimizer="adam",
        learning_rate=None,
        momentum=0.0,
        loss=None,
        metrics=None,
        batch_size=128,
        epochs=12,
        validation_split=0.0,
        validation_strategy="last",
        shuffle=True,
        callbacks=None,
        verbose=0,
        random_state=None,
        run_eagerly=False,
        warm_start=False,
        early_stopping=False,
        patience=5,
        min_delta=0.0,
        tensorboard_dir=None,
        steps_per_execution="auto",
        jit_compile="auto",
        dtype=None,
        engine="auto",
        **routed_params,
    ):
        self.hidden_layer_sizes = hidden_layer_sizes
        self.activation = activation
        self.kernel_initializer = kernel_initializer
        self.bias_initializer = bias_initializer
        self.dropout = dropout
        self.batch_normalization = batch_normalization
        self.kernel_l1 = kernel_l1
        self.kernel_l2 = kernel_l2
        self.bias_l1 = bias_l1
        self.bias_l2 = bias_l2
        self.activity_l1 = activity_l1
        self.activity_l2 = activity_l2
        self.optimizer = optimizer
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.loss = loss
        self.metrics = metrics
        self.batch_size = batch_size
        self.epochs = epochs
        self.validation_split = validation_split
        self.validation_strategy = validation_strategy
        self.shuffle = shuffle
        self.callbacks = callbacks
        self.verbose = verbose
        self.random_state = random_state
        self.run_eagerly = run_eagerly
        self.warm_start = warm_start
        self.early_stopping = early_stopping
        self.patience = patience
        self.min_delta = min_delta
        self.tensorboard_dir = tensorboard_dir
        self.steps_per_execution = steps_per_execution
        self.jit_compile = jit_compile
        self.dtype = dtype
        self.engine = engine
        _check_names(type(self), routed_params)
        self._routed_params = routed_params

    # -- parameters ---------------------------------------------------------

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Parameters of this estimator, the routed ``prefix__name`` ones too."""
        params = super().get_params(deep=deep)
        params.update(self._routed_params)
        return params

    def set_params(self, **params):
        """Set parameters; ``optimizer__*``, ``compile__*`` and ``fit__*`` too.

        A name that is neither a parameter nor routed raises at once, naming
        the closest parameter; values are checked by ``fit``, as in
        scikit-learn.
        """
        valid = set(self._get_param_names())
        extra = {
            k: params.pop(k)
            for k in list(params)
            if k.startswith(ROUTING_PREFIXES) or k.split("__")[0] not in valid
        }
        _check_names(type(self), extra)
        # A new dict: clones share the old one and must not see this change.
        self._routed_params = {**self._routed_params, **extra}
        return super().set_params(**params)

    def _routed(self, prefix: str) -> dict[str, Any]:
        return {
            k[len(prefix) :]: v
            for k, v in self._routed_params.items()
            if k.startswith(prefix)
        }

    def _check_params(self) -> None:
        for name in self._routed_params:
            if not name.startswith(ROUTING_PREFIXES):
                raise InvalidParameterError(
                    f"{type(self).__name__} has no parameter {name!r}."
                    f"{did_you_mean(name, self._get_param_names())} Extra Keras "
                    f"arguments take a prefix: {', '.join(ROUTING_PREFIXES)} "
                    f"(for example optimizer__beta_1=0.9)."
                )
        check_params(self, self._skmlp_constraints)
        if isinstance(self.loss, str):
            try:
                keras.losses.get(self.loss)
            except (ValueError, TypeError):
                raise InvalidParameterError(
                    f"loss={self.loss!r} is not a Keras loss."
                    f"{did_you_mean(self.loss, _network.LOSSES)}"
                ) from None
        n_layers = len(layer_sizes(self.hidden_layer_sizes))
        for name in ("activation", "dropout"):
            value = getattr(self, name)
            if isinstance(value, (list, tuple)) and len(value) != n_layers:
                raise InvalidParameterError(
                    f"{name} has {len(value)} entries but hidden_layer_sizes has "
                    f"{n_layers} layers; give one value, or one per hidden layer."
                )
        clash = {"compile__" + k for k in ("optimizer", "loss", "metrics")} | {
            "fit__" + k
            for k in (
                "x",
                "y",
                "epochs",
                "batch_size",
                "validation_split",
                "shuffle",
                "callbacks",
                "verbose",
                "sample_weight",
                "class_weight",
            )
        }
        for name in clash & set(self._routed_params):
            raise InvalidParameterError(
                f"{name} duplicates the estimator's own parameter "
                f"{name.split('__')[1]!r}; set that instead."
            )

    # -- what the subclasses define -----------------------------------------

    def _prepare_targets(
        self, y, sample_weight, reset: bool, classes=None, warm_start=False
    ):
        """Return (y for Keras, sample weights, n_outputs, output activation, loss).

        ``warm_start``: a ``fit`` continuing the current network, which must
        see the same targets as before.
        """
        raise NotImplementedError

    def _default_metrics(self) -> list:
        return []

    # -- training -----------------------------------------------------------

    def fit(self, X, y, sample_weight=None):
        """Train the network on ``X`` and ``y`` for ``epochs`` epochs.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
            Training data (for MNIST: 784 pixel values per row, best scaled
            to [0, 1]).
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target values: class labels for the classifier, numbers for the
            regressor.
        sample_weight : array-like of shape (n_samples,), default=None
            Per-sample weights, multiplied into the loss.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        continuing = self.warm_start and hasattr(self, "model_")
        if not continuing and _batch.prefitted(self, X, y, sample_weight):
            return self  # trained already, with others, by a batched search
        return self._fit(
            X,
            y,
            sample_weight,
            epochs=self.epochs,
            reset=not continuing,
            warm_start=continuing,
        )

    def _fit(
        self, X, y, sample_weight, *, epochs, reset, classes=None, warm_start=False
    ):
        """Train; on any exception the estimator is left exactly as it was.

        A fit works on the estimator's attributes as it goes (scikit-learn's
        ``validate_data`` sets ``n_features_in_``, the model trains in place
        on a warm start), so the attributes and, when there is one, the
        network's weights and optimizer state are put back on failure.
        """
        attributes = dict(self.__dict__)
        model = attributes.get("model_")
        weights = None if model is None or reset else _engine.snapshot(model)
        try:
            return self._fit_once(
                X, y, sample_weight, epochs, reset, classes, warm_start
            )
        except BaseException:
            if weights is not None:
                _engine.restore(model, weights)
            self.__dict__.clear()
            self.__dict__.update(attributes)
            raise

    def _fit_once(self, X, y, sample_weight, epochs, reset, classes, warm_start):
        job = self._begin_fit(X, y, sample_weight, epochs, reset, classes, warm_start)
        if job.engine is not None:
            history = _engine.train(self.model_, **job.engine)
        else:
            history = self._fit_keras(*job.keras)
        return self._end_fit(job, history)

    def _begin_fit(self, X, y, sample_weight, epochs, reset, classes, warm_start):
        """Everything a fit does before training: returns a ``_FitJob``.

        Split from ``_end_fit`` so that ``skmlp._batch`` can train many
        estimators' networks together between the two, each prepared exactly
        as its own ``fit`` would prepare it.
        """
        self._check_params()
        _explain_shapes(self, X, y)
        if reset:
            self._dtype = _network.network_dtype(self.dtype, X)
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=np.dtype(self._network_dtype),
            accept_sparse=("csr", "csc", "coo"),
            multi_output=isinstance(self, RegressorMixin) or _ndim(y) == 2,
            y_numeric=isinstance(self, RegressorMixin),
        )
        X = _dense(X)
        sample_weight = _check_sample_weight(sample_weight, X.shape[0])
        y_keras, sample_weight, n_outputs, output_activation, loss = (
            self._prepare_targets(
                y, sample_weight, reset=reset, classes=classes, warm_start=warm_start
            )
        )
        validation_split, n_train = self._effective_validation_split(X.shape[0])
        seed = _seed_from(self.random_state) if reset else self._seed
        calls = 0 if reset else self._fit_calls
        # One random stream per estimator: fit(random_state=int) replays it from
        # the start; partial_fit and warm_start continue it.
        words = np.random.SeedSequence(seed, spawn_key=(calls,)).generate_state(
            1 + 2 * epochs
        )
        if n_train < len(X) and (
            self.validation_strategy == "stratified"
            or (self.early_stopping and self.validation_split == 0)
        ):
            # Validation rows drawn at random (stratified for classes), as
            # scikit-learn's early stopping draws them, not whatever rows come
            # last (Keras' rule, validation_strategy="last").
            X, y_keras, sample_weight = _random_rows_last(
                X, y_keras, sample_weight, n_train,
                y if isinstance(self, ClassifierMixin) and np.ndim(y) == 1 else None,
                np.random.SeedSequence(seed, spawn_key=(calls, 1)),
            )  # fmt: skip
        if reset:
            self.__dict__.pop("model_", None)
            self.__dict__.pop("_predictor", None)
            self._built_with = self._network_params()
            self.model_ = self._build_and_compile(
                X.shape[1], n_outputs, output_activation, loss, n_train, int(words[0])
            )
            # What rebuilds this network from the parameters (pickle, save):
            # a loss object is the ``loss`` parameter itself.
            self._output = [
                int(n_outputs),
                output_activation,
                loss if isinstance(loss, str) else None,
                int(n_train),
            ]
        else:
            self._continue_built_network()
        job = _FitJob(reset=reset, seed=seed, calls=calls, X=X, n_train=n_train)
        if self._engine_unsupported() is None:
            job.engine = self._engine_arguments(
                X, y_keras, sample_weight, n_train, loss, words[1:].reshape(epochs, 2)
            )
        else:
            self._check_keras_fit_dtype()
            job.keras = (X, y_keras, sample_weight, validation_split, epochs, seed)
        return job

    def _network_params(self) -> dict[str, Any]:
        """The parameters a fit builds the network from, routed ones too."""
        return {
            name: value
            for name, value in self.get_params(deep=False).items()
            if name in _params.BUILT or name.startswith(("optimizer__", "compile__"))
        }

    def _as_built(self) -> _BaseMLP:
        """This estimator with the parameters its network was built from.

        ``set_params`` after a fit changes the parameters, not the fitted
        network: pickle and ``skmlp.load`` rebuild that network from these.
        """
        built = self.__dict__.get("_built_with")  # absent in earlier releases' files
        if built is None:
            return self
        estimator = type(self)(**{**self.get_params(deep=False), **built})
        estimator._dtype = self._network_dtype
        return estimator

    def _continue_built_network(self) -> None:
        """Check a continued fit's parameters against the network's (see BUILT).

        The network's structure and optimizer are fixed when it is built: a
        continued fit that silently kept them, or trained one structure and
        predicted with another, would be wrong without a word.
        """
        built = self.__dict__.get("_built_with")
        if built is None:
            return
        now = self._network_params()
        keras_fit = self._engine_unsupported()  # why Keras' fit trains, or None
        optimizer = self.model_.optimizer
        for name in sorted(built.keys() | now.keys()):
            old, new = built.get(name), now.get(name)
            if _same(old, new):
                continue
            rule = _params.BUILT.get(name, "refused")  # routed arguments: refused
            if rule == "unused" or (rule == "engine" and keras_fit is None):
                continue
            if (
                rule == "assigned"
                and new is not None
                and isinstance(optimizer.learning_rate, keras.Variable)
            ):
                optimizer.learning_rate.assign(float(new))
                # A new dict: a failed fit puts the old one back.
                self._built_with = {**self._built_with, name: new}
                continue
            how = (
                f" (Keras' model.fit, used for this fit because of "
                f"{keras_fit}, trains the layers as built)"
                if rule == "engine"
                else ""
            )
            raise InvalidParameterError(
                f"{name} changed from {old!r} to {new!r} since this network was "
                f"built; warm_start=True and partial_fit continue that network"
                f"{how}. Set {name} back to continue it, or call fit with "
                f"warm_start=False to build a new one."
            )

    def _check_keras_fit_dtype(self) -> None:
        """Refuse what Keras' ``model.fit`` cannot train in a non-default dtype.

        Keras computes the compiled loss in ``floatx`` whatever the layers'
        dtype, and on TensorFlow cannot add the layers' float64 penalties to it.
        """
        dtype = self._network_dtype
        penalties = any(getattr(self, name) > 0 for name in HYPER_NAMES)
        if (
            penalties
            and dtype != keras.config.floatx()
            and keras.backend.backend() == "tensorflow"
        ):
            raise ValueError(
                f"Keras' own model.fit (used for {self._engine_unsupported()}) "
                f"cannot train a {dtype} network with L1/L2 penalties on "
                f"TensorFlow: it adds them to a loss in "
                f"{keras.config.floatx()}. Leave dtype=None, or let skmlp's "
                f"engine train it (engine='auto', without what needs model.fit)."
            )

    def _end_fit(self, job: _FitJob, history: dict) -> _BaseMLP:
        """Record a finished training's history and make the predictor."""
        # A new dict, so that a failed fit's restore gives back the old one.
        merged = {} if job.reset else {k: list(v) for k, v in self.history_.items()}
        for key, values in history.items():
            merged.setdefault(key, []).extend(float(v) for v in values)
        self.history_ = merged
        self._seed, self._fit_calls = job.seed, job.calls + 1
        self._predictor = make_predictor(self.model_)
        # Epochs of this call, as scikit-learn's MLPClassifier counts them
        # (history_ keeps growing across warm starts and partial_fit).
        self.n_iter_ = len(history.get("loss", []))
        _warn_if_stuck_at_chance(self, job)
        return self

    def _engine_unsupported(self) -> str | None:
        """Why this configuration trains with Keras' ``model.fit``, or None."""
        if self.engine == "keras":
            return 'engine="keras"'
        return _engine.unsupported(
            run_eagerly=self.run_eagerly,
            metrics=self.metrics,
            callbacks=self.callbacks or (),
            routed=list(self._routed_params),
        )

    def _program(self, loss) -> tuple[_engine.Program, list[float]]:
        """The engine's program for this network, and its optimizer's settings."""
        model, optimizer = self.model_, self.model_.optimizer
        rule, config, optimizer_values = split_optimizer(
            optimizer, model.trainable_variables
        )
        hidden = [
            layer for layer in model.layers if isinstance(layer, keras.layers.Dense)
        ][:-1]
        n_hidden = len(hidden)
        output = model.layers[-1]
        if isinstance(self, RegressorMixin):
            target = "regression"
        elif getattr(self, "_multilabel", False):
            target = "multilabel"
        elif output.units == 1:
            target = "binary"
        elif _network.is_sparse_loss(loss):
            target = "sparse"
        else:
            target = "one_hot"
        return _engine.Program(
            n_features=self.n_features_in_,
            hidden=tuple(layer.units for layer in hidden),
            activations=tuple(per_layer(self.activation, n_hidden, "activation")),
            output_units=output.units,
            output_activation=activation_name(output.activation),
            batch_normalization=bool(self.batch_normalization),
            dropout_layers=tuple(r > 0 for r in self._dropout_rates(n_hidden)),
            weight_penalty=any(
                getattr(self, n) > 0
                for n in ("kernel_l1", "kernel_l2", "bias_l1", "bias_l2")
            ),
            activity_penalty=self.activity_l1 > 0 or self.activity_l2 > 0,
            loss=loss,
            target=target,
            optimizer_class=type(optimizer),
            optimizer_config=config,
            optimizer_rule=rule,
            batch_size=self.batch_size,
            dtype=self._network_dtype,
        ), optimizer_values

    def _dropout_rates(self, n_hidden: int) -> list[float]:
        return [float(r) for r in per_layer(self.dropout, n_hidden, "dropout")]

    def _engine_arguments(self, X, y, sample_weight, n_train, loss, epoch_seeds):
        """The keyword arguments of ``_engine.train`` for this fit."""
        dtype = self._network_dtype
        weights = (
            np.ones(X.shape[0], dtype)
            if sample_weight is None
            else sample_weight.astype(dtype, copy=False)
        )
        if y.dtype.kind == "f":  # class indices (a sparse loss) stay integers
            y = y.astype(dtype, copy=False)
        data = (X[:n_train], y[:n_train], weights[:n_train])
        validation = (
            (X[n_train:], y[n_train:], weights[n_train:])
            if n_train < X.shape[0]
            else None
        )
        program, optimizer_values = self._program(loss)
        metrics = self._default_metrics() if self.metrics is None else self.metrics
        accuracy = next((m for m in metrics if m in ("accuracy", "acc")), None)
        return dict(
            program=program,
            data=data,
            validation=validation,
            hyper={name: float(getattr(self, name)) for name in HYPER_NAMES},
            dropout=self._dropout_rates(len(program.hidden)),
            optimizer_values=optimizer_values,
            epoch_seeds=epoch_seeds,
            shuffle=self.shuffle,
            callbacks=self._fit_callbacks(),
            verbose=self.verbose,
            accuracy_name=accuracy if program.has_accuracy else None,
        )

    def _fit_keras(self, X, y, sample_weight, validation_split, epochs, seed):
        with _seeded(seed):
            history = self.model_.fit(
                X,
                y,
                sample_weight=sample_weight,
                batch_size=self.batch_size,
                epochs=epochs,
                validation_split=validation_split,
                shuffle=self.shuffle,
                callbacks=self._fit_callbacks(),
                verbose=self.verbose,
                **self._routed("fit__"),
            )
        return history.history

    def _effective_validation_split(self, n_samples: int) -> tuple[float, int]:
        """The validation split Keras will use, and the training rows it leaves."""
        split = self.validation_split
        if self.early_stopping and split == 0:
            split = 0.1  # early stopping needs held-out data to watch
        # Keras' own rule (array_slicing.train_validation_split): the first
        # floor(n * (1 - split)) rows train, the rest validate.
        n_train = math.floor(n_samples * (1 - split))
        if n_train < 1:
            raise ValueError(
                f"validation_split={split} leaves no rows for training out of "
                f"{n_samples} samples; use more data or a smaller validation_split."
            )
        if self.early_stopping and n_samples - n_train < 2:
            raise ValueError(
                f"The validation set is too small for early stopping: "
                f"{n_samples - n_train} of {n_samples} samples held out, and it "
                f"needs at least 2. Use more data, a larger validation_split, or "
                f"early_stopping=False."
            )
        return split, n_train

    def _build_network(self, n_features, n_outputs, output_activation, seed=None):
        return _network.build_mlp(
            n_features,
            n_outputs,
            output_activation,
            hidden_layer_sizes=layer_sizes(self.hidden_layer_sizes),
            activation=self.activation,
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            dropout=self.dropout,
            batch_normalization=self.batch_normalization,
            kernel_l1=self.kernel_l1,
            kernel_l2=self.kernel_l2,
            bias_l1=self.bias_l1,
            bias_l2=self.bias_l2,
            activity_l1=self.activity_l1,
            activity_l2=self.activity_l2,
            seed=seed,
            dtype=self._network_dtype,
        )

    @property
    def _network_dtype(self) -> str:
        # Files saved before the dtype parameter hold float32 networks.
        return self.__dict__.get("_dtype", "float32")

    def _build_and_compile(
        self, n_features, n_outputs, output_activation, loss, n, seed
    ):
        if keras.backend.backend() == "jax":
            from ._engine._jax import enable_persistent_cache

            # Before the network is built: the optimizer's zero-filled slots (and
            # initialisers Keras draws itself) compile too, once per shape.
            enable_persistent_cache()
        model = self._build_network(n_features, n_outputs, output_activation, seed)
        optimizer = _network.make_optimizer(
            self.optimizer,
            self.learning_rate,
            self.momentum,
            self._routed("optimizer__"),
        )
        metrics = (
            self._default_metrics() if self.metrics is None else list(self.metrics)
        )
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=metrics,
            **{
                "run_eagerly": self.run_eagerly,
                "steps_per_execution": self._steps_per_execution(n),
                "jit_compile": self.jit_compile,
                **self._routed("compile__"),  # compile__jit_compile=... wins
            },
        )
        # Built now, so that its state exists for the engine and for saving.
        optimizer.build(model.trainable_variables)
        return model

    def _steps_per_execution(self, n_samples: int) -> int:
        if self.steps_per_execution != "auto":
            return self.steps_per_execution
        if self.run_eagerly or keras.backend.backend() == "torch":
            return 1  # Keras refuses more than 1 on torch
        # Many optimizer steps per call into the compiled function remove most
        # of Keras' per-step Python overhead (a third of the epoch time of the
        # labs' network). Callbacks' per-batch hooks and the progress bar see
        # one update per call, so with a progress bar on, calls stay short
        # enough for it to move.
        # JAX unrolls the steps of one call inside its compiled function, so
        # there the compile time grows with the count: cap it lower.
        cap = 32 if self.verbose == 1 or keras.backend.backend() == "jax" else 256
        steps_per_epoch = math.ceil(n_samples / self.batch_size)
        return max(1, min(cap, steps_per_epoch))

    def _fit_callbacks(self) -> list:
        # Copies, so the user's callback objects never hold a trained model and
        # the estimator stays clonable and picklable.
        callbacks = [copy.deepcopy(cb) for cb in (self.callbacks or [])]
        if self.early_stopping:
            callbacks.append(
                keras.callbacks.EarlyStopping(
                    monitor="val_loss",
                    patience=self.patience,
                    min_delta=self.min_delta,
                    restore_best_weights=True,
                )
            )
        if self.tensorboard_dir is not None:
            stamp = time.strftime("%Y%m%d-%H%M%S")
            run = f"{stamp}-{self._run_name()}-{uuid.uuid4().hex[:6]}"
            self.tensorboard_log_dir_ = os.path.join(
                os.fspath(self.tensorboard_dir), run
            )
            callbacks.append(
                keras.callbacks.TensorBoard(
                    log_dir=self.tensorboard_log_dir_, histogram_freq=1
                )
            )
        return callbacks

    def _run_name(self) -> str:
        """A short, readable name of this configuration for TensorBoard runs."""
        # Runs of equal sizes are shortened: (128,) * 10 -> "128x10".
        runs = [
            (size, len(list(group)))
            for size, group in itertools.groupby(layer_sizes(self.hidden_layer_sizes))
        ]
        sizes = "-".join(f"{s}x{n}" if n > 1 else str(s) for s, n in runs) or "none"
        activation = (
            self.activation
            if isinstance(self.activation, str)
            else "-".join(self.activation)
        )
        optimizer = self.optimizer if isinstance(self.optimizer, str) else "custom"
        return f"h{sizes}_{activation}_{optimizer}"

    # -- scikit-learn's MLP attributes, read from the network and history --

    def _dense_weights(self, index: int) -> list[np.ndarray]:
        check_is_fitted(self, "model_")
        return [
            np.array(to_numpy(layer.weights[index]))
            for layer in self.model_.layers
            if isinstance(layer, keras.layers.Dense)
        ]

    @property
    def coefs_(self) -> list[np.ndarray]:
        return self._dense_weights(0)

    @property
    def intercepts_(self) -> list[np.ndarray]:
        return self._dense_weights(1)

    @property
    def loss_curve_(self) -> list[float]:
        check_is_fitted(self, "model_")
        return list(self.history_.get("loss", []))

    @property
    def best_loss_(self) -> float:
        return float(np.min(self.loss_curve_))

    # -- prediction ---------------------------------------------------------

    def _forward(self, X, *, like_input: bool = False) -> np.ndarray:
        """Network outputs for ``X`` in float64 (see ``_engine._predict``).

        ``like_input``: in ``X``'s float type instead, or the network's where
        that is wider (scikit-learn's regressors predict in the input's).
        """
        check_is_fitted(self, "model_")
        predictor = self._predictor
        X = validate_data(
            self,
            X,
            reset=False,
            dtype=(np.float64, np.float32),
            accept_sparse=("csr", "csc", "coo"),
        )
        if sp.issparse(X):
            X = X.tocsr()
        chunks = [
            # Sparse rows (TF-IDF and the like) are made dense a chunk at a time.
            predictor(_dense(X[start : start + _PREDICT_CHUNK]))
            for start in range(0, X.shape[0], _PREDICT_CHUNK)
        ]
        out = np.concatenate(chunks, axis=0)
        if like_input:
            return out.astype(np.result_type(X.dtype, self._network_dtype), copy=False)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = True
        return tags

    def __getstate__(self):
        # The network travels as plain weight arrays (and the optimizer's
        # state), rebuilt from the parameters when unpickled: pickle, joblib
        # and skops (which cannot walk a Keras model) see NumPy arrays only,
        # and no Keras configuration is read back. The float64 predictor is
        # derived from the weights.
        state = dict(super().__getstate__())  # may be __dict__ itself
        state.pop("_predictor", None)
        if "model_" in state:
            if "_output" in state:
                state["model_"] = network_arrays(state["model_"])
            else:  # a network loaded from an earlier release's file
                from ._saving import network_to_bytes

                state["model_"] = network_to_bytes(state["model_"])
        return state

    def __setstate__(self, state):
        network = state.get("model_")
        if isinstance(network, bytes):  # pickled by an earlier release
            from ._saving import network_from_bytes

            state = {**state, "model_": network_from_bytes(network)}
        elif isinstance(network, dict):
            state = {k: v for k, v in state.items() if k != "model_"}
        super().__setstate__(state)
        if isinstance(network, dict):
            self.model_ = self._rebuild_network(network)
        if "model_" in self.__dict__:
            self._predictor = make_predictor(self.model_)

    def _rebuild_network(self, arrays: dict):
        """The fitted network, built from the parameters and given ``arrays``.

        ``arrays``: ``network_arrays`` of the network, the layers' weights
        and the optimizer's state, each a list of NumPy arrays.
        """
        units, activation, loss, n_train = self._output
        if self._network_dtype not in ("float16", "bfloat16", "float32", "float64"):
            raise ValueError(f"unknown network dtype {self._network_dtype!r}")
        built = self._as_built()
        model = built._build_and_compile(
            self.n_features_in_,
            units,
            activation,
            built.loss if loss is None else loss,
            n_train,
            seed=0,
        )
        for kind, variables in (
            ("weights", model.weights),
            ("optimizer", model.optimizer.variables),
        ):
            values = arrays[kind]
            shapes = [tuple(v.shape) for v in variables]
            if [tuple(np.shape(a)) for a in values] != shapes:
                raise ValueError(
                    f"the saved {kind} do not fit the network the parameters "
                    f"describe (shapes {shapes})"
                )
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        return model

    def export(self, path, format: str = "tf_saved_model", **kwargs) -> None:
        """Export the trained network for serving, with Keras' ``model.export``.

        The exported model takes rows of ``n_features_in_`` features in the
        network's float type (float32 unless ``dtype`` says otherwise)
        and returns the network's outputs: class probabilities in
        ``classes_`` order (one column, the probability of ``classes_[1]``,
        for two classes; one per label for multilabel targets), or the
        regressor's predictions. Preprocessing outside the network (a
        ``Pipeline``'s scaler) is not part of it.

        Parameters
        ----------
        path : str or path-like
            The folder (TF SavedModel) or file (ONNX) to write.
        format : {"tf_saved_model", "onnx"}, default="tf_saved_model"
            As Keras' ``model.export``: a TensorFlow SavedModel (needs
            TensorFlow, any backend), or ONNX (``pip install "skmlp[onnx]"``;
            on JAX also ``jax2onnx``).
        **kwargs
            Passed on to ``model.export``.

        Examples
        --------
        >>> import os, tempfile
        >>> import numpy as np, tensorflow as tf
        >>> from sklearn.datasets import load_digits
        >>> from skmlp import MLPKerasClassifier
        >>> X, y = load_digits(return_X_y=True)
        >>> clf = MLPKerasClassifier((16,), epochs=2, random_state=0).fit(X / 16, y)
        >>> folder = os.path.join(tempfile.mkdtemp(), "digits_model")
        >>> clf.export(folder)
        >>> served = tf.saved_model.load(folder)
        >>> served.serve(np.float32(X[:2] / 16)).shape  # the class probabilities
        TensorShape([2, 10])
        """
        check_is_fitted(self, "model_")
        if format == "onnx" and "input_signature" not in kwargs:
            # Keras reads the signature of ONNX exports from the model's first
            # call, and the engine trains without calling the model.
            kwargs["input_signature"] = [
                keras.InputSpec(
                    shape=(None, self.n_features_in_), dtype=self._network_dtype
                )
            ]
        self.model_.export(os.fspath(path), format=format, verbose=False, **kwargs)

    def save(self, path) -> None:
        """Save the fitted estimator to one file, without pickle.

        The parameters and fitted attributes go in JSON, the network's
        weights and optimizer state as NumPy arrays, both inside one zip
        file. ``skmlp.load`` rebuilds the network from the parameters in any
        process, with identical predictions, and cannot run code hidden in
        the file (unlike pickle or joblib files, which must only be loaded
        from sources you trust).

        Parameters
        ----------
        path : str or path-like
            The file to write, conventionally ending in ``.skmlp``.
        """
        from ._saving import save_estimator

        save_estimator(self, path)


class MLPKerasClassifier(ClassifierMixin, _BaseMLP):
    def __init__(
        self,
        hidden_layer_sizes=(256, 256),
        activation="relu",
        *,
        kernel_initializer="glorot_uniform",
        bias_initializer="zeros",
        dropout=0.2,
        batch_normalization=False,
        kernel_l1=0.0,
        kernel_l2=0.0,
        bias_l1=0.0,
        bias_l2=0.0,
        activity_l1=0.0,
        activity_l2=0.0,
        optimizer="adam",
        learning_rate=None,
        momentum=0.0,
        loss=None,
        metrics=None,
        batch_size=128,
        epochs=12,
        validation_split=0.0,
        validation_strategy="last",
        shuffle=True,
        class_weight=None,
        callbacks=None,
        verbose=0,
        random_state=None,
        run_eagerly=False,
        warm_start=False,
        early_stopping=False,
        patience=5,
        min_delta=0.0,
        tensorboard_dir=None,
        steps_per_execution="auto",
        jit_compile="auto",
        dtype=None,
        engine="auto",
        **routed_params,
    ):
        super().__init__(
            hidden_layer_sizes=hidden_layer_sizes,
            activation=activation,
            kernel_initializer=kernel_initializer,
            bias_initializer=bias_initializer,
            dropout=dropout,
            batch_normalization=batch_normalization,
            kernel_l1=kernel_l1,
            kernel_l2=kernel_l2,
            bias_l1=bias_l1,
            bias_l2=bias_l2,
            activity_l1=activity_l1,
            activity_l2=activity_l2,
            optimizer=optimizer,
            learning_rate=learning_rate,
            momentum=momentum,
            loss=loss,
            metrics=metrics,
            batch_size=batch_size,
            epochs=epochs,
            validation_split=validation_split,
            validation_strategy=validation_strategy,
            shuffle=shuffle,
            callbacks=callbacks,
            verbose=verbose,
            random_state=random_state,
            run_eagerly=run_eagerly,
            warm_start=warm_start,
            early_stopping=early_stopping,
            patience=patience,
            min_delta=min_delta,
            tensorboard_dir=tensorboard_dir,
            steps_per_execution=steps_per_execution,
            jit_compile=jit_compile,
            dtype=dtype,
            engine=engine,
            **routed_params,
        )
        self.class_weight = class_weight

    _skmlp_constraints: dict = {
        **_params.CONSTRAINTS,
        **_params.CLASSIFIER_CONSTRAINTS,
    }

    def _default_metrics(self) -> list:
        return ["accuracy"]

    def _prepare_targets(
        self, y, sample_weight, reset: bool, classes=None, warm_start=False
    ):
        if reset:  # predictions take the form of the first fit's y
            self._y_sparse = sp.issparse(y)
        if sp.issparse(y):  # a sparse indicator matrix, as MLPClassifier takes
            y = y.toarray()
        one_hot = np.ndim(y) == 2 and _one_hot_targets(self, y)
        multilabel = not one_hot and _is_multilabel(y)
        if not reset and (one_hot, multilabel) != (
            getattr(self, "_y_one_hot", False),
            getattr(self, "_multilabel", False),
        ):
            raise ValueError(
                "y must keep the form of the first fit (labels, one-hot rows or a "
                "multilabel indicator matrix)."
            )
        if multilabel:
            return self._prepare_multilabel(y, sample_weight, reset)
        self._multilabel = False
        if one_hot:  # the labs' to_categorical targets: column j is class j
            if reset and classes is None:
                classes = np.arange(y.shape[1])
            y = np.argmax(y, axis=1)
        self._y_one_hot = one_hot
        y = column_or_1d(y, warn=True)
        check_classification_targets(y)
        if warm_start and not np.array_equal(np.unique(y), self.classes_):
            raise ValueError(
                f"warm_start can only continue training on the classes of the "
                f"previous fit, {self.classes_.tolist()}; y has "
                f"{np.unique(y).tolist()}. Set warm_start=False to start afresh, or "
                f"use partial_fit for batches that hold only some classes."
            )
        if (
            not reset
            and classes is not None
            and not np.array_equal(np.unique(np.asarray(classes)), self.classes_)
        ):
            raise ValueError(
                f"classes={list(classes)} differs from the classes of the first "
                f"partial_fit call, {self.classes_.tolist()}; they cannot change."
            )
        if reset:
            self.classes_ = np.unique(y if classes is None else np.asarray(classes))
            if self.classes_.shape[0] < 2:
                raise ValueError(
                    f"{type(self).__name__} needs samples of at least 2 classes in "
                    f"y; got only one class: {self.classes_[0]!r}."
                )
        unknown = np.setdiff1d(y, self.classes_)
        if unknown.size:
            raise ValueError(
                f"y contains labels not seen in the first fit: {unknown.tolist()}; "
                f"known classes are {self.classes_.tolist()}."
            )
        encoded = np.searchsorted(self.classes_, y).astype(np.int32)
        n_classes = len(self.classes_)
        if self.loss is None:
            loss = (
                "binary_crossentropy"
                if n_classes == 2
                else "sparse_categorical_crossentropy"
            )
        else:
            loss = self.loss
        if n_classes > 2 and _network.is_binary_loss(loss):
            raise ValueError(
                f"loss={loss!r} is for 2 classes; y has {n_classes}. "
                f"Leave loss=None or use 'sparse_categorical_crossentropy'."
            )
        n_outputs, activation = _network.output_layer_for(n_classes, self.loss)
        if n_outputs == 1:
            y_keras = encoded.astype(np.float32).reshape(-1, 1)
        elif _network.is_sparse_loss(loss):
            y_keras = encoded
        else:  # categorical cross-entropy, but also MSE, hinge, KL, ...
            y_keras = np.eye(n_classes, dtype=np.float32)[encoded]
        sample_weight = self._with_class_weight(sample_weight, encoded)
        self.n_outputs_ = n_outputs  # output units, as in MLPClassifier
        return y_keras, sample_weight, n_outputs, activation, loss

    def _prepare_multilabel(self, y, sample_weight, reset: bool):
        """An indicator matrix: one sigmoid unit per label, as MLPClassifier."""
        y = np.asarray(y)
        if reset:
            self.classes_ = np.arange(y.shape[1])
        elif y.shape[1] != len(self.classes_):
            raise ValueError(
                f"y has {y.shape[1]} labels; the first fit had {len(self.classes_)}."
            )
        loss = "binary_crossentropy" if self.loss is None else self.loss
        if _network.is_sparse_loss(loss):
            raise ValueError(
                f"loss={loss!r} takes one label per sample; y is a multilabel "
                f"indicator matrix. Leave loss=None (binary cross-entropy per label)."
            )
        if self.class_weight is not None:
            raise ValueError(
                "class_weight is for one label per sample; y is a multilabel "
                "indicator matrix. Use sample_weight instead."
            )
        if reset and self.loss is None and bool((y.sum(axis=1) == 1).all()):
            warnings.warn(
                "y is one-hot (one 1 per row) and loss=None: it is trained as "
                "multilabel targets (one sigmoid unit per column), as scikit-learn's "
                "MLPClassifier does. For the labs' softmax network pass "
                "loss='categorical_crossentropy' (predictions stay one-hot) or "
                "y.argmax(axis=1).",
                UserWarning,
                stacklevel=5,
            )
        self._multilabel, self._y_one_hot = True, False
        self.n_outputs_ = y.shape[1]
        return y.astype(np.float32), sample_weight, y.shape[1], "sigmoid", loss

    def _with_class_weight(self, sample_weight, encoded):
        if self.class_weight is None:
            return sample_weight
        if self.class_weight == "balanced":
            weights = compute_class_weight(
                "balanced", classes=np.arange(len(self.classes_)), y=encoded
            )
        else:
            unknown = set(self.class_weight) - set(self.classes_.tolist())
            if unknown:
                raise ValueError(
                    f"class_weight names labels that are not classes: "
                    f"{sorted(unknown, key=str)}; classes are {self.classes_.tolist()}."
                )
            weights = np.array(
                [self.class_weight.get(c, 1.0) for c in self.classes_.tolist()]
            )
        # Keras' own class_weight does this same multiplication; doing it here
        # works with validation_split and with sample weights alike.
        per_sample = weights.astype(np.float32)[encoded]
        return per_sample if sample_weight is None else per_sample * sample_weight

    def partial_fit(self, X, y, classes=None, sample_weight=None):
        """Train for one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,)
        classes : array-like of shape (n_classes,), default=None
            Every class label; required on the first call, since one batch
            may not hold them all.
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        _no_early_stopping_in_partial_fit(self)
        first = not hasattr(self, "model_")
        if first and classes is None:
            raise ValueError(
                "classes must be passed on the first call to partial_fit "
                "(for MNIST: classes=range(10))."
            )
        return self._fit(X, y, sample_weight, epochs=1, reset=first, classes=classes)

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities, shape (n_samples, n_classes), in ``classes_`` order.

        For a multilabel classifier, each label's own probability (rows do
        not sum to 1), as scikit-learn's ``MLPClassifier`` gives.
        """
        out = self._forward(X).astype(np.float64)
        if getattr(self, "_multilabel", False):
            return out
        if out.shape[1] == 1:  # one sigmoid unit: P(classes_[1])
            out = np.hstack([1.0 - out, out])
        # float32 softmax sums to 1 only within ~1e-7; make it exact.
        return out / out.sum(axis=1, keepdims=True)

    @property
    def validation_scores_(self) -> list[float] | None:
        """Validation accuracy per epoch, or None without validation rows."""
        check_is_fitted(self, "model_")
        scores = self.history_.get("val_accuracy")
        return None if scores is None else list(scores)

    @property
    def best_validation_score_(self) -> float | None:
        scores = self.validation_scores_
        return None if not scores else float(np.max(scores))

    def predict_log_proba(self, X) -> np.ndarray:
        """Logarithm of ``predict_proba``: shape (n_samples, n_classes)."""
        with np.errstate(divide="ignore"):
            return np.log(self.predict_proba(X))

    def predict(self, X) -> np.ndarray:
        """Most probable class for each row of ``X``, in the form ``y`` had.

        A label from ``classes_``; a one-hot row where the classifier was
        fitted on one-hot targets (``loss="categorical_crossentropy"``); an
        indicator row (each label whose probability exceeds 0.5) where it was
        fitted on a multilabel indicator matrix; rows of a sparse matrix where
        that ``y`` was sparse, as in ``MLPClassifier``.
        """
        proba = self.predict_proba(X)
        if getattr(self, "_multilabel", False):  # the indicator matrix
            rows = (proba > 0.5).astype(int)
        elif getattr(self, "_y_one_hot", False):
            rows = np.eye(len(self.classes_), dtype=int)[np.argmax(proba, axis=1)]
        else:
            return self.classes_[np.argmax(proba, axis=1)]
        return sp.csr_matrix(rows) if getattr(self, "_y_sparse", False) else rows

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.classifier_tags.multi_label = True
        return tags


class MLPKerasRegressor(RegressorMixin, _BaseMLP):
    def _prepare_targets(
        self, y, sample_weight, reset: bool, classes=None, warm_start=False
    ):
        y = np.asarray(y, dtype=self._network_dtype)
        if reset:
            self.n_outputs_ = 1 if y.ndim == 1 else y.shape[1]
        elif (1 if y.ndim == 1 else y.shape[1]) != self.n_outputs_:
            raise ValueError(
                f"y has {1 if y.ndim == 1 else y.shape[1]} outputs; the estimator "
                f"was fitted with {self.n_outputs_}."
            )
        self._y_ndim = y.ndim
        loss = "mean_squared_error" if self.loss is None else self.loss
        output = _network.regressor_output_for(loss)
        return y.reshape(len(y), -1), sample_weight, self.n_outputs_, output, loss

    def partial_fit(self, X, y, sample_weight=None):
        """Train for one epoch, continuing from the current weights.

        Parameters
        ----------
        X : array-like of shape (n_samples, n_features)
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        sample_weight : array-like of shape (n_samples,), default=None

        Returns
        -------
        self : object
        """
        _no_early_stopping_in_partial_fit(self)
        return self._fit(
            X, y, sample_weight, epochs=1, reset=not hasattr(self, "model_")
        )

    def predict(self, X) -> np.ndarray:
        """Predicted values, shape (n_samples,) or (n_samples, n_outputs).

        In the float type of ``X`` (float32 or float64), or the network's
        where that is wider (see ``dtype``).
        """
        out = self._forward(X, like_input=True)
        return out.ravel() if self._y_ndim == 1 else out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.target_tags.multi_output = True
        return tags


# The most a sparse X may take once dense for training (the engine trains on
# dense rows); beyond it, reduce the features first (TruncatedSVD).
_MAX_DENSE_BYTES = 4 << 30


def _dense(X):
    """``X`` as a dense array; a sparse matrix densified within a bound."""
    if not sp.issparse(X):
        return X
    size = X.shape[0] * X.shape[1] * X.dtype.itemsize
    if size > _MAX_DENSE_BYTES:
        raise ValueError(
            f"sparse X of shape {X.shape} would take {size / 2**30:.1f} GiB once "
            f"dense, which the network trains on; reduce its features first, for "
            f"example with sklearn.decomposition.TruncatedSVD in the pipeline."
        )
    return X.toarray()


def _random_rows_last(X, y_keras, sample_weight, n_train, labels, seed_sequence):
    """The rows reordered so that the last ``len(X) - n_train`` are a random
    sample, stratified by ``labels`` where every class has two rows."""
    from sklearn.model_selection import train_test_split

    rows = np.arange(len(X))
    stratify = labels
    if labels is not None and np.unique(labels, return_counts=True)[1].min() < 2:
        stratify = None
    state = int(seed_sequence.generate_state(1)[0])
    try:
        train, held = train_test_split(
            rows, train_size=n_train, stratify=stratify, random_state=state
        )
    except ValueError:  # too few rows per class for a stratified split
        train, held = train_test_split(rows, train_size=n_train, random_state=state)
    order = np.concatenate([train, held])
    weights = None if sample_weight is None else sample_weight[order]
    return X[order], y_keras[order], weights


def _explain_shapes(estimator, X, y) -> None:
    """Name the fix for the two shapes the labs' data most often arrives in."""
    shape = getattr(X, "shape", None)
    if shape is not None and len(shape) >= 3:
        raise ValueError(
            f"X has shape {tuple(shape)}: the network takes one row of features per "
            f"sample. Flatten images first: skmlp.datasets.to_features(X) (which also "
            f"scales 0-255 pixels to [0, 1]) or X.reshape(len(X), -1)."
        )
    text = _non_numeric_columns(X)
    if text:
        raise ValueError(
            f"X has non-numeric columns {text[:5]}: the network takes numbers. "
            f"Encode them in a pipeline, for example make_pipeline("
            f"make_column_transformer((OneHotEncoder(), {text[:5]}), "
            f"remainder=StandardScaler()), {type(estimator).__name__}())."
        )
    y_shape = getattr(y, "shape", None)
    if (
        isinstance(estimator, ClassifierMixin)
        and y_shape is not None
        and len(y_shape) == 2
        and y_shape[1] > 1
        and not _one_hot_targets(estimator, y)
        and not _is_multilabel(y)
    ):
        raise ValueError(
            f"y has shape {tuple(y_shape)}; the classifier takes one label per "
            f"sample, or one-hot rows (exactly one 1 each) with "
            f"loss='categorical_crossentropy', as the labs train. Otherwise pass "
            f"y.argmax(axis=1): the classes are then 0 to {y_shape[1] - 1}."
        )


def _same(a, b) -> bool:
    """Whether two parameter values are the same (arrays, objects, numbers)."""
    if a is b:
        return True
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):  # (16,) == [16]
        return len(a) == len(b) and all(map(_same, a, b))
    try:
        return bool(a == b)
    except (TypeError, ValueError):  # arrays of several elements
        return bool(np.array_equal(a, b))


def _non_numeric_columns(X) -> list:
    """A DataFrame's columns that are neither numbers nor booleans."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(dtypes, "items"):  # not a pandas DataFrame
        return []
    from pandas.api.types import is_bool_dtype, is_numeric_dtype

    return [
        name
        for name, dtype in dtypes.items()
        if not (is_numeric_dtype(dtype) or is_bool_dtype(dtype))
    ]


def network_arrays(model) -> dict[str, list[np.ndarray]]:
    """A Keras network's state as plain arrays: its weights, its optimizer's."""
    return {
        "weights": [to_numpy(v) for v in model.weights],
        "optimizer": [to_numpy(v) for v in model.optimizer.variables],
    }


def _ndim(y) -> int:
    """Dimensions of ``y`` as NumPy reads it (lists of lists too); 1 if ragged."""
    shape = getattr(y, "shape", None)
    if shape is not None:
        return len(shape)
    try:
        return np.asarray(y).ndim
    except (ValueError, TypeError):
        return 1


def _is_multilabel(y) -> bool:
    """Whether ``y`` is a multilabel indicator matrix (scikit-learn's sense)."""
    return _ndim(y) == 2 and type_of_target(y) == "multilabel-indicator"


def _one_hot_targets(estimator, y) -> bool:
    """Whether ``y`` is the labs' one-hot targets for a one-hot loss."""
    loss = estimator.loss
    if loss is None or _network.is_sparse_loss(loss) or _network.is_binary_loss(loss):
        return False
    y = np.asarray(y)
    return (
        y.ndim == 2
        and y.shape[1] > 1
        and bool(np.isin(y, (0, 1)).all())
        and bool((y.sum(axis=1) == 1).all())
    )


def _warn_if_stuck_at_chance(estimator, job) -> None:
    """Warn when a classifier ended at chance on inputs far outside [0, 1]."""
    accuracy = estimator.history_.get("accuracy")
    classes = getattr(estimator, "classes_", None)
    if not accuracy or classes is None or job.X is None:
        return
    if accuracy[-1] > 1.5 / len(classes):
        return
    # Raw counts such as 0-255 pixels: non-negative and large. (Standardised
    # inputs may reach 40 in a rare column, but they are centred.) A sample of
    # rows first: unscaled inputs show in any of them.
    sample = job.X[:: max(1, job.X.shape[0] // 1000)]
    largest = float(np.max(sample))
    if largest <= 10:
        largest = float(np.max(job.X))
    if largest > 10 and float(np.min(job.X)) >= 0:
        warnings.warn(
            f"training accuracy stayed at chance level ({accuracy[-1]:.3f}) and the "
            f"inputs reach {largest:g}: unscaled inputs (such as 0-255 pixels) "
            f"saturate the network. Scale them (skmlp.datasets.to_features, "
            f"IDXLoader(scale=True) or sklearn's StandardScaler) or lower the "
            f"learning rate. Where raw pixels are the point (the labs' C and E "
            f"groups), silence this with warnings.filterwarnings('ignore', "
            f"'training accuracy stayed at chance').",
            UserWarning,
            stacklevel=4,
        )


def _check_names(cls, names) -> None:
    """Refuse a keyword that is neither a parameter nor a routed Keras argument.

    ``routed_params`` itself (the name of the catch-all, which scikit-learn's
    own checks pass as a keyword) is left for ``fit`` to report.
    """
    for name in names:
        if not name.startswith(ROUTING_PREFIXES) and name != "routed_params":
            raise InvalidParameterError(
                f"{cls.__name__} has no parameter {name!r}."
                f"{did_you_mean(name, cls._get_param_names())} Extra Keras "
                f"arguments take a prefix: {', '.join(ROUTING_PREFIXES)} "
                f"(for example optimizer__beta_1=0.9)."
            )


def _no_early_stopping_in_partial_fit(estimator) -> None:
    if estimator.early_stopping:
        raise ValueError(
            "partial_fit does not support early_stopping=True: it would hold back "
            "the last rows of every batch. Use fit, or set early_stopping=False."
        )


MLPKerasClassifier.__doc__ = f"""A Keras multi-layer perceptron classifier.

    A scikit-learn classifier (usable in ``Pipeline``, ``GridSearchCV``,
    ``cross_val_score`` and soft or hard ``VotingClassifier``) that builds and
    trains a Keras ``Sequential`` network from plain parameters. Labels may
    be any classes scikit-learn accepts. Two classes get one sigmoid output
    unit and binary cross-entropy; more get softmax and sparse categorical
    cross-entropy (``loss="categorical_crossentropy"`` one-hot encodes the
    labels, as the labs do).

    The defaults (two hidden layers of 256 ReLU units with dropout 0.2,
    Adam, batch 128, 12 epochs) were chosen by measurement: on full MNIST
    scaled to [0, 1] they reach 0.981-0.983 test accuracy (3 seeds, on
    TensorFlow and JAX) in 10-17 s on two CPU cores, less than scikit-learn's
    bare ``MLPClassifier()`` takes to reach its 0.979 (26-32 s). The labs'
    smaller 784-128-128-10 network without dropout plateaus near 0.975-0.978.
{_params.parameters_doc(classifier=True)}
    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        The class labels.
    validation_scores_ : list of float or None
        Validation accuracy per epoch (``history_["val_accuracy"]``), None
        when no rows were held out; ``best_validation_score_`` its maximum.
{_params.ATTRIBUTES_DOC}
    See Also
    --------
    MLPKerasRegressor : The same network for regression.

    Examples
    --------
    >>> from sklearn.datasets import load_digits
    >>> from skmlp import MLPKerasClassifier
    >>> X, y = load_digits(return_X_y=True)
    >>> clf = MLPKerasClassifier((64,), learning_rate=0.01, epochs=20, random_state=0)
    >>> clf = clf.fit(X / 16, y)
    >>> clf.predict_proba(X[:2] / 16).shape
    (2, 10)
    >>> clf.score(X / 16, y) > 0.95
    True
    """

MLPKerasRegressor.__doc__ = f"""A Keras multi-layer perceptron regressor.

    The network of :class:`MLPKerasClassifier` with a linear output unit per
    target and mean squared error as the default loss; ``y`` may have one
    column or several.
{_params.parameters_doc(classifier=False)}
    Attributes
    ----------
    n_outputs_ : int
        Number of targets.
{_params.ATTRIBUTES_DOC}
    See Also
    --------
    MLPKerasClassifier : The same network for classification.

    Examples
    --------
    >>> import numpy as np
    >>> from skmlp import MLPKerasRegressor
    >>> X = np.linspace(-1, 1, 200).reshape(-1, 1)
    >>> reg = MLPKerasRegressor((32,), epochs=100, random_state=0)
    >>> reg = reg.fit(X, X.ravel() ** 2)
    >>> reg.predict(X[:3]).shape
    (3,)
    """
