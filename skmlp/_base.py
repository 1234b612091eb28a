"""The core both estimators share: parameters -> spec -> Keras model -> training.

``_BaseMLP.fit`` validates the parameters and data, encodes the targets
(``_targets``), builds the network's ``Spec`` (``_spec``: the one
description), builds the Keras model from it (``_network.build_mlp``) and
trains it with skmlp's engine (``_engine.train``) or, where the engine
cannot, Keras' own ``model.fit``. A fit is ``_begin_fit``, training,
``_end_fit``, so that ``_batch`` can train many networks between the two.
The subclasses (``estimators.py``) say how targets are read and how outputs
become predictions.
"""

from __future__ import annotations

import dataclasses
import math
import os
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, RegressorMixin
from sklearn.utils.validation import check_is_fitted, validate_data

from . import _engine, _network, _params
from ._callbacks import fit_callbacks
from ._constraints import did_you_mean
from ._data import check_sample_weight, dense, random_rows_last, seed_from, seeded
from ._diagnostics import check_names, explain_shapes, warn_if_stuck_at_chance
from ._engine._predict import make_predictor
from ._keras import keras, to_numpy
from ._sklearn_callbacks import CallbackSupportMixin, run_fit
from ._spec import PENALTIES, Spec
from ._state import FITTED, check_consistent, network_arrays
from ._targets import ClassTargets, targets_from_dict
from ._targets import ndim as _ndim
from ._validation import (
    InvalidParameterError,
    check_params,
    check_routed,
    layer_sizes,
    per_layer,
)

# Extra Keras arguments reach Keras through these prefixes, as in scikeras:
# ``optimizer__beta_1=0.95`` goes to the optimizer's constructor, and so on.
ROUTING_PREFIXES = ("optimizer__", "compile__", "fit__")

# Rows per call on the prediction path; bounds the memory of one forward pass.
_PREDICT_CHUNK = 8192


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


class _BaseMLP(CallbackSupportMixin, BaseEstimator):
    """The core shared by MLPKerasClassifier and MLPKerasRegressor."""

    _skmlp_constraints: dict = _params.CONSTRAINTS

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
        check_names(type(self), routed_params, ROUTING_PREFIXES)
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
        check_names(type(self), extra, ROUTING_PREFIXES)
        # A new dict: clones share the old one and must not see this change.
        self._routed_params = {**self._routed_params, **extra}
        return super().set_params(**params)

    @property
    def _loss(self):
        """The ``loss`` parameter in Keras' terms (scikit-learn's names too)."""
        return _network.keras_loss(self.loss)

    def _routed(self, prefix: str) -> dict[str, Any]:
        return {
            k[len(prefix) :]: v
            for k, v in self._routed_params.items()
            if k.startswith(prefix)
        }

    def _check_params(self) -> None:
        check_names(type(self), self._routed_params, ROUTING_PREFIXES, at_fit=True)
        check_params(self, self._skmlp_constraints)
        if isinstance(self._loss, str):
            try:
                keras.losses.get(self._loss)
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
        # compile__/fit__ names Keras takes, and not those the estimator
        # passes itself from its own parameters.
        check_routed(self._routed_params)

    # -- what the subclasses define -----------------------------------------

    def _fit_targets(self, y, *, classes, dtype):
        """The targets of a first fit on ``y`` (``classes``: partial_fit's)."""
        raise NotImplementedError

    def _encode_targets(self, y, *, warm_start, classes, dtype) -> np.ndarray:
        """``y`` as the network trains on it, for the fitted targets."""
        raise NotImplementedError

    def _default_metrics(self) -> list:
        return []

    # -- training -----------------------------------------------------------

    def fit(
        self,
        X,
        y,
        sample_weight=None,
        *,
        X_val=None,
        y_val=None,
        sample_weight_val=None,
    ):
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
        X_val : array-like of shape (n_val, n_features), default=None
            A validation set of your own, instead of a split of ``X``
            (scikit-learn's convention, as in ``HistGradientBoostingClassifier``):
            the ``val_*`` entries of ``history_`` and early stopping are
            computed on these rows after each epoch, and every row of ``X``
            trains. Not with ``validation_split > 0``. Through a ``Pipeline``,
            ``Pipeline(..., transform_input=["X_val"])`` passes it through the
            steps before the network (metadata routing on, and
            ``set_fit_request(X_val=True, y_val=True)`` on the network).
        y_val : array-like of shape (n_val,) or (n_val, n_outputs), default=None
            The targets of ``X_val`` (classes the fit knows).
        sample_weight_val : array-like of shape (n_val,), default=None
            Weights of the validation rows in ``val_*``.

        Returns
        -------
        self : object
            The fitted estimator.
        """
        validation = None
        if X_val is not None or y_val is not None:
            if X_val is None or y_val is None:
                raise ValueError(
                    "X_val and y_val go together: give both (a validation set of "
                    "your own) or neither (validation_split holds out rows of X)."
                )
            validation = (X_val, y_val, sample_weight_val)
        elif sample_weight_val is not None:
            raise ValueError("sample_weight_val is given without X_val and y_val.")
        continuing = self.warm_start and hasattr(self, "model_")
        return self._fit(
            X,
            y,
            sample_weight,
            epochs=self.epochs,
            reset=not continuing,
            warm_start=continuing,
            validation=validation,
        )

    def _fit(self, X, y, sample_weight, **how):
        """Train, as scikit-learn's fit task (see ``_sklearn_callbacks``).

        ``how``: ``_begin_fit``'s keyword arguments (``epochs``, ``reset``...).
        """

        return run_fit(
            self,
            lambda epoch_callback: self._fit_or_restore(
                X, y, sample_weight, epoch_callback=epoch_callback, **how
            ),
            X,
            y,
            how["epochs"],
            self._current_state,
        )

    def _current_state(self) -> dict:
        """The attributes that make a copy predict with the model's current weights.

        What scikit-learn's callbacks get at each epoch's end (its
        "reconstruction attributes"), batched or not.
        """
        return {"_predictor": make_predictor(self._spec, self.model_)}

    def _fit_or_restore(self, X, y, sample_weight, *, epoch_callback, **how):
        """Train; on any exception the estimator is left exactly as it was.

        A fit works on the estimator's attributes as it goes (scikit-learn's
        ``validate_data`` sets ``n_features_in_``, the model trains in place
        on a warm start), so the attributes and, when there is one, the
        network's weights and optimizer state are put back on failure.
        """
        attributes = dict(self.__dict__)
        model = attributes.get("model_")
        weights = None if model is None or how["reset"] else _engine.snapshot(model)
        try:
            job = self._begin_fit(X, y, sample_weight, **how)
            if job.engine is not None:
                if epoch_callback is not None:
                    job.engine["callbacks"].append(epoch_callback)
                history = _engine.train(self.model_, **job.engine)
            else:
                if epoch_callback is not None:
                    job.keras[-1].append(epoch_callback)
                history = self._fit_keras(*job.keras)
            return self._end_fit(job, history)
        except BaseException:
            if weights is not None:
                _engine.restore(model, weights)
            self.__dict__.clear()
            self.__dict__.update(attributes)
            raise

    def _begin_fit(
        self,
        X,
        y,
        sample_weight,
        *,
        epochs,
        reset,
        classes=None,
        warm_start=False,
        validation=None,
    ) -> _FitJob:
        """Everything a fit does before training: returns a ``_FitJob``.

        Split from ``_end_fit`` so that ``skmlp._batch`` can train many
        estimators' networks together between the two, each prepared exactly
        as its own ``fit`` would prepare it.
        """
        self._check_params()
        explain_shapes(self, X, y)
        dtype = _network.network_dtype(self.dtype, X) if reset else self._spec.dtype
        X, y = validate_data(
            self,
            X,
            y,
            reset=reset,
            dtype=np.dtype(dtype),
            accept_sparse=("csr", "csc", "coo"),
            multi_output=isinstance(self, RegressorMixin) or _ndim(y) == 2,
            y_numeric=isinstance(self, RegressorMixin),
        )
        X = dense(X)
        sample_weight = check_sample_weight(sample_weight, X.shape[0])
        if reset:
            self._targets = self._fit_targets(y, classes=classes, dtype=dtype)
            self._record_targets()
        y_keras = self._encode_targets(
            y,
            warm_start=warm_start,
            classes=None if reset else classes,
            dtype=dtype,
        )
        class_weights = self._class_weights(y_keras)
        if class_weights is not None:
            sample_weight = (
                class_weights
                if sample_weight is None
                else class_weights * sample_weight
            )
        if validation is not None:
            validation = self._validation_set(*validation, dtype=dtype)
        validation_split, n_train = self._effective_validation_split(
            X.shape[0], own_set=validation is not None
        )
        seed = seed_from(self.random_state) if reset else self._seed
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
            X, y_keras, sample_weight = random_rows_last(
                X, y_keras, sample_weight, n_train,
                self._stratify_labels(y_keras),
                np.random.SeedSequence(seed, spawn_key=(calls, 1)),
            )  # fmt: skip
        spec = self._make_spec(
            self._targets, X.shape[1], dtype, n_train if reset else self._spec.n_train
        )
        if reset:
            self.__dict__.pop("model_", None)
            self.__dict__.pop("_predictor", None)
            self._spec = spec
            self.model_ = self._build_model(spec, int(words[0]))
        else:
            self._continue(spec)
        job = _FitJob(reset=reset, seed=seed, calls=calls, X=X, n_train=n_train)
        if self._engine_unsupported() is None:
            job.engine = self._engine_arguments(
                spec,
                X,
                y_keras,
                sample_weight,
                n_train,
                words[1:].reshape(epochs, 2),
                validation,
            )
        else:
            self._check_keras_fit_dtype()
            job.keras = (
                X, y_keras, sample_weight, validation_split, epochs, seed, validation,
                self._fit_callbacks(),
            )  # fmt: skip
        return job

    def _validation_set(self, X_val, y_val, sample_weight_val, *, dtype):
        """``fit``'s X_val, y_val and sample_weight_val, checked as X, y are."""
        if self.validation_split > 0:
            raise ValueError(
                f"X_val and validation_split={self.validation_split} both give "
                f"validation rows: pass X_val and y_val with validation_split=0, "
                f"or validation_split alone."
            )
        X_val = dense(
            validate_data(
                self,
                X_val,
                reset=False,
                dtype=np.dtype(dtype),
                accept_sparse=("csr", "csc", "coo"),
            )
        )
        try:
            y_keras = self._encode_targets(
                y_val, warm_start=False, classes=None, dtype=dtype
            )
        except ValueError as exc:
            raise ValueError(f"y_val: {exc}") from exc
        if len(y_keras) != X_val.shape[0]:
            raise ValueError(
                f"X_val has {X_val.shape[0]} rows and y_val {len(y_keras)}; they "
                f"must have one target per row."
            )
        weights = check_sample_weight(sample_weight_val, X_val.shape[0])
        return X_val, y_keras, weights

    def _record_targets(self) -> None:
        """The fitted attributes scikit-learn's estimators show for targets."""
        targets = self._targets
        if isinstance(targets, ClassTargets):
            self.classes_ = targets.classes
            self.n_outputs_ = targets.output_units  # output units, as MLPClassifier
        else:
            self.n_outputs_ = targets.n_outputs

    def _class_weights(self, y_keras) -> np.ndarray | None:
        return None

    def _stratify_labels(self, y_keras) -> np.ndarray | None:
        return None

    def _make_spec(self, targets, n_features: int, dtype: str, n_train: int) -> Spec:
        """The spec of the network these parameters and ``targets`` describe."""
        sizes = layer_sizes(self.hidden_layer_sizes)
        n = len(sizes)
        loss = targets.loss if self._loss is None else self._loss
        return Spec(
            n_features=int(n_features),
            hidden_layer_sizes=sizes,
            activation=per_layer(self.activation, n, "activation"),
            dropout=[float(r) for r in per_layer(self.dropout, n, "dropout")],
            batch_normalization=bool(self.batch_normalization),
            kernel_initializer=self.kernel_initializer,
            bias_initializer=self.bias_initializer,
            **{name: float(getattr(self, name)) for name in PENALTIES},
            output_units=int(targets.output_units),
            output_activation=targets.output_activation,
            loss=loss,
            target=targets.target,
            dtype=dtype,
            optimizer=self.optimizer,
            learning_rate=self.learning_rate,
            momentum=float(self.momentum),
            metrics=self.metrics,
            run_eagerly=bool(self.run_eagerly),
            steps_per_execution=self.steps_per_execution,
            jit_compile=self.jit_compile,
            routed={
                k: v
                for k, v in self._routed_params.items()
                if k.startswith(("optimizer__", "compile__"))
            },
            n_train=int(n_train),
        )

    def _continue(self, spec: Spec) -> None:
        """Check a continued fit's spec against the network's (see the table).

        The network's structure and optimizer are fixed when it is built: a
        continued fit that silently kept them, or trained one structure and
        predicted with another, would be wrong without a word. What a change
        of each parameter does is the table's ``continued`` column.
        """
        built = self._spec
        keras_fit = self._engine_unsupported()  # why Keras' fit trains, or None
        optimizer = self.model_.optimizer
        for name in built.changes(spec):
            old, new = getattr(built, name), getattr(spec, name)
            rule = _params.CONTINUED.get(name, _params.Continued.REFUSED)
            if rule is _params.Continued.IGNORED or (
                rule is _params.Continued.ENGINE and keras_fit is None
            ):
                continue
            if (
                rule is _params.Continued.ASSIGNED
                and new is not None
                and isinstance(optimizer.learning_rate, keras.Variable)
            ):
                optimizer.learning_rate.assign(float(new))
                # A new spec: a failed fit puts the old one back.
                self._spec = self._spec.replace(**{name: new})
                continue
            if name == "routed":  # name the routed arguments that changed
                old, new = dict(old), dict(new)
                name = ", ".join(
                    k
                    for k in sorted(old.keys() | new.keys())
                    if old.get(k) != new.get(k)
                )
                old = {k: old.get(k) for k in name.split(", ")}
                new = {k: new.get(k) for k in name.split(", ")}
            how = (
                f" (Keras' model.fit, used for this fit because of "
                f"{keras_fit}, trains the layers as built)"
                if rule is _params.Continued.ENGINE
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
        dtype = self._spec.dtype
        penalties = any(getattr(self, name) > 0 for name in PENALTIES)
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
        self._predictor = make_predictor(self._spec, self.model_)
        # Epochs of this call, as scikit-learn's MLPClassifier counts them
        # (history_ keeps growing across warm starts and partial_fit).
        self.n_iter_ = len(history.get("loss", []))
        warn_if_stuck_at_chance(self, job)
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

    def _engine_arguments(
        self, spec, X, y, sample_weight, n_train, epoch_seeds, own_set=None
    ):
        """The keyword arguments of ``_engine.train`` for this fit.

        ``own_set``: ``fit``'s checked X_val, y_val and weights, if given.
        """
        dtype = spec.dtype

        def rows(X, y, weights):
            weights = (
                np.ones(X.shape[0], dtype)
                if weights is None
                else weights.astype(dtype, copy=False)
            )
            if y.dtype.kind == "f":  # class indices (a sparse loss) stay integers
                y = y.astype(dtype, copy=False)
            return X, y, weights

        X, y, weights = rows(X, y, sample_weight)
        data = (X[:n_train], y[:n_train], weights[:n_train])
        validation = (
            (X[n_train:], y[n_train:], weights[n_train:])
            if n_train < X.shape[0]
            else None
        )
        if own_set is not None:
            validation = rows(*own_set)
        model = self.model_
        program, optimizer_values = _engine.Program.from_spec(
            spec, self.batch_size, model.optimizer, model.trainable_variables
        )
        metrics = self._default_metrics() if self.metrics is None else self.metrics
        accuracy = next((m for m in metrics if m in ("accuracy", "acc")), None)
        return dict(
            program=program,
            data=data,
            validation=validation,
            hyper=spec.penalties(),
            dropout=list(spec.dropout),
            optimizer_values=optimizer_values,
            epoch_seeds=epoch_seeds,
            shuffle=self.shuffle,
            callbacks=self._fit_callbacks(),
            verbose=self.verbose,
            accuracy_name=accuracy if program.has_accuracy else None,
        )

    def _fit_keras(
        self, X, y, sample_weight, validation_split, epochs, seed, own_set, callbacks
    ):
        validation_data = None
        if own_set is not None:
            X_val, y_val, weights = own_set
            validation_data = (
                (X_val, y_val) if weights is None else (X_val, y_val, weights)
            )
        with seeded(seed):
            history = self.model_.fit(
                X,
                y,
                sample_weight=sample_weight,
                batch_size=self.batch_size,
                epochs=epochs,
                validation_split=validation_split,
                validation_data=validation_data,
                shuffle=self.shuffle,
                callbacks=callbacks,
                verbose=self.verbose,
                **self._routed("fit__"),
            )
        return history.history

    def _effective_validation_split(
        self, n_samples: int, own_set: bool = False
    ) -> tuple[float, int]:
        """The validation split Keras will use, and the training rows it leaves.

        ``own_set``: the fit has an X_val of its own: every row trains.
        """
        if own_set:
            return 0.0, n_samples
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

    def _build_model(self, spec: Spec, seed: int | None):
        """The Keras model of ``spec``, compiled, its optimizer built."""
        if keras.backend.backend() == "jax":
            from ._engine._jax import enable_persistent_cache

            # Before the network is built: the optimizer's zero-filled slots (and
            # initialisers Keras draws itself) compile too, once per shape.
            enable_persistent_cache()
        model = _network.build_mlp(spec, seed)
        optimizer = _network.make_optimizer(
            spec.optimizer,
            spec.learning_rate,
            spec.momentum,
            spec.routed_with("optimizer__"),
        )
        metrics = (
            self._default_metrics() if spec.metrics is None else list(spec.metrics)
        )
        model.compile(
            optimizer=optimizer,
            loss=spec.loss,
            metrics=metrics,
            **{
                "run_eagerly": spec.run_eagerly,
                "steps_per_execution": self._steps_per_execution(spec),
                "jit_compile": spec.jit_compile,
                **spec.routed_with("compile__"),  # compile__jit_compile=... wins
            },
        )
        # Built now, so that its state exists for the engine and for saving.
        optimizer.build(model.trainable_variables)
        return model

    def _steps_per_execution(self, spec: Spec) -> int:
        if spec.steps_per_execution != "auto":
            return spec.steps_per_execution
        if spec.run_eagerly or keras.backend.backend() == "torch":
            return 1  # Keras refuses more than 1 on torch
        # Many optimizer steps per call into the compiled function remove most
        # of Keras' per-step Python overhead (a third of the epoch time of the
        # labs' network). Callbacks' per-batch hooks and the progress bar see
        # one update per call, so with a progress bar on, calls stay short
        # enough for it to move.
        # JAX unrolls the steps of one call inside its compiled function, so
        # there the compile time grows with the count: cap it lower.
        cap = 32 if self.verbose == 1 or keras.backend.backend() == "jax" else 256
        steps_per_epoch = math.ceil(max(spec.n_train, 1) / self.batch_size)
        return max(1, min(cap, steps_per_epoch))

    def _fit_callbacks(self) -> list:
        callbacks, log_dir = fit_callbacks(self)
        if log_dir is not None:
            self.tensorboard_log_dir_ = log_dir
        return callbacks

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
            predictor(dense(X[start : start + _PREDICT_CHUNK]))
            for start in range(0, X.shape[0], _PREDICT_CHUNK)
        ]
        out = np.concatenate(chunks, axis=0)
        if like_input:
            return out.astype(np.result_type(X.dtype, self._spec.dtype), copy=False)
        return out

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.non_deterministic = False
        tags.input_tags.sparse = True
        return tags

    # -- the fitted state as plain values (pickle, skops, skmlp.save) ----------

    def _fitted_state(self) -> dict[str, Any]:
        """What a fit left: attributes, spec, targets and the network's arrays.

        Plain values, NumPy arrays and (where the parameters hold them) Keras
        objects: pickle, joblib, skops and ``skmlp.save`` store this, never a
        Keras model, and rebuild the network from the spec.
        """
        check_is_fitted(self, "model_")
        return {
            "attributes": {n: getattr(self, n) for n in FITTED if hasattr(self, n)},
            "spec": self._spec.to_dict(),
            "targets": self._targets.to_dict(),
            "network": network_arrays(self.model_),
        }

    def _set_fitted_state(self, state: dict[str, Any]) -> None:
        """Become the fitted estimator of ``_fitted_state``'s ``state``.

        Raises ValueError where the parts do not fit together (shapes, units,
        classes), naming what does not.
        """
        attributes = dict(state["attributes"])
        unknown = set(attributes) - set(FITTED)
        if unknown:
            raise ValueError(f"unknown fitted attributes {sorted(unknown)}")
        spec = Spec.from_dict(state["spec"])
        targets = targets_from_dict(state["targets"], attributes.get("classes_"))
        # The spec's parameters meet the same constraints as the estimator's.
        names = set(self._get_param_names())
        type(self)(
            **{k: v for k, v in spec.to_dict().items() if k in names and k != "dtype"},
            **dict(spec.routed),
        )._check_params()
        check_consistent(self, spec, targets, attributes, state["network"])
        for name, value in attributes.items():
            setattr(self, name, value)
        self._spec, self._targets = spec, targets
        self.model_ = self._rebuild_network(spec, state["network"])
        self._predictor = make_predictor(spec, self.model_)

    def _rebuild_network(self, spec: Spec, arrays: dict):
        """The network of ``spec`` with the given weights and optimizer state."""
        model = self._build_model(spec, seed=0)
        for kind, variables in (
            ("weights", model.weights),
            ("optimizer", model.optimizer.variables),
        ):
            values = arrays[kind]
            shapes = [tuple(v.shape) for v in variables]
            if [tuple(np.shape(a)) for a in values] != shapes:
                raise ValueError(
                    f"the saved {kind} do not fit the network the spec describes "
                    f"(shapes {shapes})"
                )
            for variable, value in zip(variables, values, strict=True):
                variable.assign(value)
        return model

    def __getstate__(self):
        state = dict(super().__getstate__())  # may be __dict__ itself
        state.pop("_predictor", None)
        if "model_" in state:
            fitted = self._fitted_state()
            for name in (*FITTED, "model_", "_spec", "_targets"):
                state.pop(name, None)
            state["_fitted"] = fitted
        return state

    def __setstate__(self, state):
        state = dict(state)
        fitted = state.pop("_fitted", None)
        if fitted is None and "model_" in state:  # pickled by an earlier release
            from ._legacy import fitted_from_legacy

            state, fitted = fitted_from_legacy(type(self), state)
        super().__setstate__(state)
        if fitted is not None:
            self._set_fitted_state(fitted)

    def export(self, path, format: str = "tf_saved_model", **kwargs) -> None:
        """Export the trained network for serving, with Keras' ``model.export``.

        The exported model takes rows of ``n_features_in_`` features in the
        network's float type (float32 unless ``dtype`` says otherwise)
        and returns the network's outputs: class probabilities in
        ``classes_`` order (one column, the probability of ``classes_[1]``,
        for two classes; one per label for multilabel targets), or the
        regressor's predictions. Preprocessing outside the network (a
        ``Pipeline``'s scaler) is not part of it. ``model_.export`` does the
        same.

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
        self.model_.export(os.fspath(path), format=format, verbose=False, **kwargs)

    def save(self, path) -> None:
        """Save the fitted estimator to one file, without pickle.

        The parameters, the network's spec and the fitted attributes go in
        JSON, the network's weights and optimizer state as NumPy arrays,
        both inside one zip file. ``skmlp.load`` rebuilds the network from
        the spec in any process, with identical predictions, and cannot run
        code hidden in the file (unlike pickle or joblib files, which must
        only be loaded from sources you trust).

        Parameters
        ----------
        path : str or path-like
            The file to write, conventionally ending in ``.skmlp``.
        """
        import skmlp

        skmlp.save(self, path)
