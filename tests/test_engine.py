"""The compiled engine: parity with Keras' fit, no recompiling, owned randomness.

Marked ``backends``: these run on TensorFlow here and on JAX and torch in
``test_other_backends`` (subprocesses).
"""

import random
import sys
import threading
import warnings

import keras
import numpy as np
import pytest

from skmlp import MLPKerasClassifier, MLPKerasRegressor
from skmlp._engine import _program

pytestmark = pytest.mark.backends

SGD_ONE_EPOCH = dict(
    hidden_layer_sizes=(32, 16),
    optimizer="sgd",
    learning_rate=0.1,
    epochs=1,
    shuffle=False,
    batch_size=100,
    validation_split=0.1,
    random_state=3,
    dropout=0.0,
)


def assert_same_optimizer_state(a, b):
    """The optimizers' variables (step count, moments) of two fitted networks agree."""
    for ours, theirs in zip(
        a.model_.optimizer.variables, b.model_.optimizer.variables, strict=True
    ):
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(ours),
            keras.ops.convert_to_numpy(theirs),
            rtol=1e-4,
            atol=1e-6,
        )


def _max_weight_difference(a, b):
    return max(
        float(np.abs(u - v).max())
        for u, v in zip(a.model_.get_weights(), b.model_.get_weights(), strict=True)
    )


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"kernel_l2": 1e-3, "bias_l1": 1e-3, "activity_l2": 1e-3},
        {"batch_normalization": True},
        {"loss": "categorical_crossentropy"},
    ],
    ids=["plain", "penalties", "batch-norm", "one-hot"],
)
def test_engine_weights_equal_keras_fit(digits, extra):
    X, y = digits
    engine = MLPKerasClassifier(**SGD_ONE_EPOCH, **extra).fit(X, y)
    keras_fit = MLPKerasClassifier(engine="keras", **SGD_ONE_EPOCH, **extra).fit(X, y)
    assert _max_weight_difference(engine, keras_fit) < 1e-5
    for key, values in keras_fit.history_.items():
        np.testing.assert_allclose(engine.history_[key], values, rtol=1e-5)


# SGD, Adam, AdamW and RMSprop run skmlp's own updates (_engine._optim, with
# their settings as inputs; on torch _torch's flat version of them);
# clipping, Adagrad and schedules run Keras' own. The keras.ops rules are
# the same code on TensorFlow and JAX: JAX runs the schedule only, since
# compiling every case there would cost the suite 15 s.
_KERAS_UPDATES = {
    "sgd-nesterov": {"optimizer": "sgd", "momentum": 0.9, "optimizer__nesterov": True},
    "adam-amsgrad": {"optimizer": "adam", "optimizer__amsgrad": True},
    "adamw": {"optimizer": "adamw", "optimizer__weight_decay": 0.01},
    "rmsprop": {"optimizer": "rmsprop", "momentum": 0.5, "optimizer__centered": True},
    "clipnorm": {"optimizer": "adam", "optimizer__clipnorm": 0.5},
    "adagrad": {"optimizer": "adagrad"},
}
_SCHEDULE = {
    "optimizer": keras.optimizers.Adam(
        keras.optimizers.schedules.PiecewiseConstantDecay([5], [0.01, 0.003])
    ),
    "learning_rate": None,  # the schedule's
}


@pytest.mark.parametrize(
    "optimizer",
    [
        *(
            pytest.param(
                params, id=name, marks=pytest.mark.only_backend("tensorflow", "torch")
            )
            for name, params in _KERAS_UPDATES.items()
        ),
        pytest.param(_SCHEDULE, id="schedule"),
    ],
)
def test_optimizer_updates_equal_keras_fit(digits, optimizer):
    # On torch the engine writes the common optimizers' updates itself
    # (_torch.plain_update); clipping, Adagrad and schedules take Keras' own.
    X, y = digits
    # Two epochs: the step count carries over from one to the next.
    params = {**SGD_ONE_EPOCH, "epochs": 2, "learning_rate": 0.01, **optimizer}
    engine = MLPKerasClassifier(**params).fit(X, y)
    keras_fit = MLPKerasClassifier(engine="keras", **params).fit(X, y)
    assert _max_weight_difference(engine, keras_fit) < 1e-5
    # The optimizer's state (iterations, moments) continues from the same place.
    assert_same_optimizer_state(engine, keras_fit)


@pytest.mark.only_backend("torch")
@pytest.mark.parametrize(
    "extra",
    [
        {"optimizer": "adam"},
        {"optimizer": "sgd", "momentum": 0.9},
        {"optimizer": "rmsprop", "batch_normalization": True, "activity_l2": 1e-4},
    ],
    ids=["adam", "sgd", "rmsprop-bn-penalty"],
)
def test_torch_steps_never_wait_for_the_device(digits, extra):
    # On a GPU an eager step waits for the device whenever a Python number
    # becomes a device tensor (aten::lift_fresh) or a device number is read
    # (aten::_local_scalar_dense). The profiler sees both on a CPU too: their
    # count must not grow with the number of steps (training and validation).
    from torch.profiler import ProfilerActivity, profile

    X, y = digits
    # (and what else reads the device back: nonzero, masked_select)
    waits = (
        "aten::lift_fresh",
        "aten::_local_scalar_dense",
        "aten::item",
        "aten::nonzero",
        "aten::masked_select",
    )

    def counts(batch_size):
        clf = MLPKerasClassifier(
            (16,), epochs=2, batch_size=batch_size, validation_split=0.2, **extra
        )
        clf.fit(X, y)  # the first fit of a shape also builds the trainer
        with profile(activities=[ProfilerActivity.CPU]) as prof:
            clf.fit(X, y)
        return {e.key: e.count for e in prof.key_averages()}

    few, many = counts(500), counts(50)  # 3 and 29 steps per epoch
    assert many["aten::mm"] > 5 * few["aten::mm"]
    for op in waits:
        assert many.get(op, 0) == few.get(op, 0), op


@pytest.mark.only_backend("jax")
@pytest.mark.parametrize("device", ["cpu", "gpu"])
def test_data_goes_to_the_device_padded_and_compiles_no_copy(
    device, monkeypatch, caplog
):
    import logging

    import jax

    from skmlp._engine import _jax

    monkeypatch.setattr(jax, "default_backend", lambda: device)
    rng = np.random.default_rng(0)
    a, b = rng.random((37, 3), np.float32), rng.random((5, 3), np.float32)
    with jax.log_compiles(True), caplog.at_level(logging.DEBUG, logger="jax"):
        out = _jax.to_device(a, b, rows=48)
    expected = np.concatenate([a, b, np.zeros((6, 3), np.float32)])
    np.testing.assert_array_equal(np.asarray(out), expected)
    compiled = [r.getMessage() for r in caplog.records]
    assert not [m for m in compiled if m.startswith("Compiling jit(stage)")]


@pytest.mark.only_backend("torch")
def test_torch_uses_keras_update_where_its_own_does_not_apply():
    from skmlp._engine import _torch

    params = [keras.Variable(np.zeros((2, 3), "float32"), name="w0")]

    def built(optimizer, variables=params):
        optimizer.build(variables)
        return optimizer

    assert _torch.plain_update(built(keras.optimizers.Adam()), params) is not None
    for optimizer in (
        keras.optimizers.Adam(clipnorm=1.0),
        keras.optimizers.Adagrad(),
        keras.optimizers.SGD(keras.optimizers.schedules.ExponentialDecay(0.1, 10, 0.9)),
    ):
        assert _torch.plain_update(built(optimizer), params) is None
    # Slots that cannot be matched to the variables by name (another Keras).
    other = [keras.Variable(np.zeros((2, 3), "float32"), name="elsewhere")]
    assert _torch.plain_update(built(keras.optimizers.Adam(), other), params) is None


def test_regressor_parity_with_keras_fit(digits):
    X, y = digits
    params = {**SGD_ONE_EPOCH, "learning_rate": 0.001}
    engine = MLPKerasRegressor(**params).fit(X, y.astype(float))
    keras_fit = MLPKerasRegressor(engine="keras", **params).fit(X, y.astype(float))
    assert _max_weight_difference(engine, keras_fit) < 1e-4


def _float64_allowed():
    if keras.backend.backend() != "jax":
        return True
    import jax

    return jax.config.read("jax_enable_x64")


def test_float64_networks_train_in_float64(digits):
    X, y = digits[0].astype(np.float64), digits[1]
    if not _float64_allowed():  # JAX without 64-bit mode
        with pytest.raises(ValueError, match="jax_enable_x64"):
            MLPKerasClassifier(dtype="float64").fit(X, y)
        clf = MLPKerasClassifier((8,), epochs=1, dtype="input").fit(X, y)
        assert [w.dtype for w in clf.coefs_] == [np.float32, np.float32]
        return
    extra = {"batch_normalization": True}
    engine = MLPKerasClassifier(**SGD_ONE_EPOCH, **extra, dtype="input").fit(X, y)
    # Keras' fit computes its loss in floatx (float32) whatever the layers'
    # dtype, so the two agree as float32 networks do.
    keras_fit = MLPKerasClassifier(
        engine="keras", **SGD_ONE_EPOCH, **extra, dtype="float64"
    ).fit(X, y)
    assert _max_weight_difference(engine, keras_fit) < 1e-5
    # The engine trained in float64: weights that float32 cannot hold.
    kernel = engine.coefs_[0]
    assert kernel.dtype == np.float64
    assert np.mean(kernel != kernel.astype(np.float32)) > 0.9
    assert engine._predictor(X[:5]).dtype == np.float64
    # The same data in float32 trains a float32 network with dtype="input".
    float32 = MLPKerasClassifier(**SGD_ONE_EPOCH, dtype="input").fit(
        X.astype(np.float32), y
    )
    assert float32.coefs_[0].dtype == np.float32


# On JAX, Keras' fit compiles anew for each model (13 s here); the engine's
# parity with it there is checked weight by weight (test_engine_weights_...).
@pytest.mark.only_backend("tensorflow", "torch")
def test_accuracy_matches_keras_fit_across_seeds(digits):
    X, y = digits
    X_train, y_train, X_test, y_test = X[:1200], y[:1200], X[1200:], y[1200:]

    def scores(engine):
        return [
            MLPKerasClassifier((32,), epochs=10, random_state=seed, engine=engine)
            .fit(X_train, y_train)
            .score(X_test, y_test)
            for seed in range(3)
        ]

    ours, theirs = np.mean(scores("auto")), np.mean(scores("keras"))
    assert abs(ours - theirs) < 0.03, (ours, theirs)


def test_fits_of_a_known_structure_compile_nothing(digits):
    X, y = digits
    base = dict(hidden_layer_sizes=(24,), epochs=2, dropout=0.1, kernel_l2=1e-4)
    MLPKerasClassifier(**base, validation_split=0.1, random_state=0).fit(X, y)
    before = dict(_program.TRACES)
    # Another seed, learning rate, dropout rate, penalty, and a few rows fewer
    # (a cross-validation fold): all inputs of the compiled epoch.
    MLPKerasClassifier(
        **{**base, "dropout": 0.3, "kernel_l2": 1e-3},
        validation_split=0.1,
        learning_rate=0.005,
        random_state=1,
    ).fit(X[:-7], y[:-7])
    clf = MLPKerasClassifier(
        **base, validation_split=0.1, warm_start=True, random_state=2
    )
    clf.fit(X[:-3], y[:-3]).fit(X, y)
    assert dict(_program.TRACES) == before


@pytest.mark.only_backend("tensorflow", "jax")
def test_optimizer_settings_are_inputs_not_compiled(digits):
    # A search over momentum or beta_1 compiles one epoch program per
    # optimizer structure, not one per value.
    X, y = digits
    base = dict(hidden_layer_sizes=(19,), epochs=1, dropout=0.0, random_state=0)
    before = _program.TRACES["epoch"]
    sgd = [
        MLPKerasClassifier(**base, optimizer="sgd", momentum=m).fit(X, y)
        for m in np.linspace(0.05, 0.95, 12)
    ]
    assert _program.TRACES["epoch"] - before == 1
    adam = [
        MLPKerasClassifier(**base, optimizer="adam", optimizer__beta_1=b).fit(X, y)
        for b in np.linspace(0.5, 0.95, 12)
    ]
    assert _program.TRACES["epoch"] - before == 2
    # Each value trained with its own setting.
    for fits in (sgd, adam):
        assert _max_weight_difference(fits[0], fits[-1]) > 1e-3


@pytest.mark.only_backend("tensorflow", "jax")
def test_compiled_programs_are_kept_within_the_cache_size(digits, monkeypatch):
    from skmlp._engine import _cache

    X, y = digits
    if keras.backend.backend() == "jax":
        from skmlp._engine._jax import _trainers as cache
    else:
        from skmlp._engine._stateful import _pools as cache
    monkeypatch.setattr(cache, "size", 2)
    for width in (3, 4, 5, 3):
        MLPKerasClassifier((width,), epochs=1, random_state=0).fit(X, y)
        assert len(cache) <= 2
    assert _cache.CACHE_SIZE >= 2 and len(cache) == 2


def test_a_new_structure_does_compile(digits):
    X, y = digits
    before = sum(_program.TRACES.values())
    MLPKerasClassifier((23, 5), epochs=1, random_state=0).fit(X, y)
    traced = sum(_program.TRACES.values()) > before
    assert traced == (keras.backend.backend() != "torch")  # torch runs eagerly


@pytest.mark.only_backend("tensorflow")
def test_trying_many_structures_logs_no_retracing_warning(digits):
    # TensorFlow keys its "excessive retracing" warning on a function's code,
    # which every structure's trainer shares: a notebook trying a few sizes
    # must not be told it retraces too often.
    import logging

    X, y = digits
    records = []
    handler = logging.Handler()
    handler.emit = records.append
    logger = logging.getLogger("tensorflow")
    logger.addHandler(handler)
    try:
        for units in range(40, 47):
            MLPKerasClassifier(
                (units,), epochs=1, validation_split=0.1, random_state=0
            ).fit(X, y)
    finally:
        logger.removeHandler(handler)
    assert not [r for r in records if "retracing" in r.getMessage()]


@pytest.mark.only_backend("tensorflow")
def test_fit_predict_and_pickle_warn_nothing_about_numpy(digits):
    # keras.ops.convert_to_numpy on TensorFlow warns (NumPy 2's copy
    # argument) at every call; skmlp reads tensors without it. (On JAX and
    # torch, Keras' own optimizer.get_config still warns.)
    import pickle

    X, y = digits
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf = MLPKerasClassifier(
            (16,), epochs=2, validation_split=0.2, early_stopping=True, random_state=0
        ).fit(X, y)
        pickle.loads(pickle.dumps(clf)).predict_proba(X[:5])
        assert clf.coefs_[0].shape == (X.shape[1], 16)
    assert not [w for w in caught if "__array__" in str(w.message)]


def test_fit_is_idempotent_and_touches_no_global_generator(digits):
    X, y = digits
    random.seed(11)
    np.random.seed(11)
    keras.utils.set_random_seed(11)
    expected_python, expected_numpy = random.random(), np.random.random()
    expected_keras = keras.ops.convert_to_numpy(keras.random.uniform((3,)))
    random.seed(11)
    np.random.seed(11)
    keras.utils.set_random_seed(11)
    clf = MLPKerasClassifier((16,), epochs=2, dropout=0.2, random_state=5)
    first = clf.fit(X, y).predict_proba(X)
    second = clf.fit(X, y).predict_proba(X)
    np.testing.assert_array_equal(first, second)
    assert random.random() == expected_python
    assert np.random.random() == expected_numpy
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(keras.random.uniform((3,))), expected_keras
    )


def test_partial_fit_continues_one_random_stream(digits):
    X, y = digits

    def run():
        clf = MLPKerasClassifier((16,), dropout=0.2, random_state=0)
        losses = []
        for _ in range(3):
            clf.partial_fit(X, y, classes=np.arange(10))
            losses.append(clf.history_["loss"][-1])
        return clf, losses

    a, losses_a = run()
    b, losses_b = run()
    assert losses_a == losses_b  # the same sequence of calls, the same results
    # warm_start fits continue the same stream as partial_fit calls...
    warm = MLPKerasClassifier((16,), dropout=0.2, random_state=0)
    warm.set_params(warm_start=True, epochs=1).fit(X, y).fit(X, y)
    assert warm.history_["loss"][1] == pytest.approx(losses_a[1], rel=1e-6)
    # ...and each call draws new keys: replaying the first call's differs.
    replay = MLPKerasClassifier((16,), dropout=0.2, random_state=0)
    replay.partial_fit(X, y, classes=np.arange(10))
    replay._fit_calls = 0
    replay.partial_fit(X, y)
    assert replay.history_["loss"][1] != pytest.approx(losses_a[1], rel=1e-6)


def test_seeded_fits_in_threads_equal_sequential_fits(digits):
    X, y = digits
    params = [dict(random_state=s, dropout=0.1) for s in (0, 1)]

    def fit(p):
        return MLPKerasClassifier((16,), epochs=3, **p).fit(X, y).predict_proba(X)

    sequential = [fit(p) for p in params]
    results = [None, None]

    def worker(i):
        results[i] = fit(params[i])

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for got, expected in zip(results, sequential, strict=True):
        np.testing.assert_array_equal(got, expected)


def test_sample_and_class_weights_change_the_fit(digits):
    X, y = digits
    plain = MLPKerasClassifier((16,), epochs=3, random_state=0).fit(X, y)
    weighted = MLPKerasClassifier(
        (16,), epochs=3, random_state=0, class_weight={0: 5.0}
    ).fit(X, y)
    assert _max_weight_difference(plain, weighted) > 1e-3
    zero_fives = np.where(y == 5, 0.0, 1.0)
    no_fives = MLPKerasClassifier((16,), epochs=3, random_state=0).fit(
        X, y, sample_weight=zero_fives
    )
    assert no_fives.predict_proba(X[y == 5])[:, 5].mean() < 0.1


SEEN = []


class Recorder(keras.callbacks.Callback):
    # The estimator trains a copy of each callback: record into a global.
    def on_epoch_end(self, epoch, logs=None):
        SEEN.append(
            (epoch, sorted(logs), float(np.abs(self.model.get_weights()[0]).sum()))
        )


def test_callbacks_see_the_model_and_can_change_the_learning_rate(digits):
    X, y = digits
    SEEN.clear()
    record, seen = Recorder(), SEEN
    shrink = keras.callbacks.ReduceLROnPlateau(
        monitor="loss", factor=0.5, patience=0, min_delta=10.0
    )
    clf = MLPKerasClassifier(
        (16,), epochs=3, callbacks=[record, shrink], learning_rate=0.01, random_state=0
    )
    assert clf._engine_unsupported() is None
    clf.fit(X, y)
    assert [e for e, _, _ in seen] == [0, 1, 2]
    assert seen[0][1] == ["accuracy", "loss"]
    assert seen[0][2] != seen[2][2]  # the callbacks saw trained weights
    learning_rate = float(
        keras.ops.convert_to_numpy(clf.model_.optimizer.learning_rate)
    )
    assert learning_rate == pytest.approx(0.01 * 0.5**2)  # cut after epochs 2 and 3


class BatchCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.batches = 0

    def on_train_batch_end(self, batch, logs=None):
        self.batches += 1


def test_batch_level_callbacks_use_keras_fit(digits):
    X, y = digits
    clf = MLPKerasClassifier((16,), epochs=1, callbacks=[BatchCounter()])
    assert "batch-level hooks" in clf._engine_unsupported()
    batch_lambda = keras.callbacks.LambdaCallback(on_train_batch_end=print)
    epoch_lambda = keras.callbacks.LambdaCallback(on_epoch_end=print)
    assert MLPKerasClassifier(callbacks=[batch_lambda])._engine_unsupported()
    assert MLPKerasClassifier(callbacks=[epoch_lambda])._engine_unsupported() is None
    per_batch_save = keras.callbacks.ModelCheckpoint("m.keras", save_freq=10)
    assert MLPKerasClassifier(callbacks=[per_batch_save])._engine_unsupported()
    assert MLPKerasClassifier(metrics=["mse"])._engine_unsupported()
    assert MLPKerasClassifier(run_eagerly=True)._engine_unsupported()
    clf.fit(X, y)
    assert clf.n_iter_ == 1


def test_divergence_raises_and_leaves_no_nan_model(digits):
    X, y = digits
    reg = MLPKerasRegressor(
        (16,), optimizer="sgd", learning_rate=1e6, epochs=3, random_state=0
    )
    with pytest.raises(ValueError, match="diverged.*lower learning_rate"):
        reg.fit(X, y.astype(float) * 1e3)


def test_keyboard_interrupt_keeps_the_epochs_done(digits):
    X, y = digits

    def interrupt(epoch, logs):
        if epoch == 2:
            raise KeyboardInterrupt

    clf = MLPKerasClassifier(
        (16,),
        epochs=10,
        callbacks=[keras.callbacks.LambdaCallback(on_epoch_end=interrupt)],
        random_state=0,
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        clf.fit(X, y)
    assert any("interrupted" in str(w.message) for w in caught)
    assert clf.n_iter_ == 3 == len(clf.history_["loss"])
    # The state is that of three complete epochs: a 3-epoch fit's.
    three = MLPKerasClassifier((16,), epochs=3, random_state=0).fit(X, y)
    np.testing.assert_allclose(clf.predict_proba(X), three.predict_proba(X), rtol=1e-6)


def test_verbose_output_in_a_log_is_plain_lines(digits, capsys, monkeypatch):
    # A log: no terminal, and no Jupyter kernel in the process (the notebook
    # tests' client imports ipykernel into the worker that ran them).
    monkeypatch.delitem(sys.modules, "ipykernel", raising=False)
    X, y = digits
    MLPKerasClassifier((8,), epochs=2, verbose=1, random_state=0).fit(X, y)
    out = capsys.readouterr().out
    assert "Epoch 1/2" in out and "Epoch 2/2" in out and "loss:" in out
    assert "\r" not in out and "\x08" not in out and "\x1b" not in out


def test_steps_bucket_shares_shapes_between_close_sizes():
    assert _program.steps_bucket(5) == 5
    assert _program.steps_bucket(100) == _program.steps_bucket(97)
    for n in range(1, 3000):
        assert n <= _program.steps_bucket(n) <= max(16, int(n * 1.125) + 1)


def test_prediction_on_the_device_does_not_depend_on_the_batch(digits, monkeypatch):
    from skmlp._engine import _predict

    X, y = digits
    clf = MLPKerasClassifier(
        (16, 8), epochs=2, batch_normalization=True, random_state=0
    ).fit(X, y)
    host = clf.predict_proba(X)
    if keras.backend.backend() != "jax":  # only JAX predicts on the device
        assert not _predict.on_accelerator()
        assert isinstance(
            _predict.make_predictor(clf._spec, clf.model_), _predict.Predictor
        )
        return
    # What a GPU does, on this CPU: chunks of a fixed size, compiled.
    monkeypatch.setattr(_predict, "on_accelerator", lambda: True)
    monkeypatch.setattr(_predict, "DEVICE_CHUNK", 256)  # several chunks
    clf._predictor = _predict.make_predictor(clf._spec, clf.model_)
    assert isinstance(clf._predictor, _predict.DevicePredictor)
    shapes = []
    forward = clf._predictor.forward
    clf._predictor.forward = lambda arrays, x: (
        shapes.append(x.shape) or forward(arrays, x)
    )
    device = clf.predict_proba(X)
    # Every call of the compiled pass has the chunk's rows, the last padded.
    assert shapes == [(256, X.shape[1])] * -(-len(X) // 256)
    # Computed in the network's float32, not the host's float64, and close.
    assert not np.array_equal(device, host)
    np.testing.assert_allclose(device, host, atol=1e-5)
    np.testing.assert_allclose(device.sum(axis=1), 1.0, rtol=1e-12)
    for i in (0, 5, 300, len(X) - 1):  # alone, each row predicts as in the batch
        np.testing.assert_array_equal(
            clf.predict_proba(X[i : i + 1]), device[i : i + 1]
        )
    np.testing.assert_array_equal(clf.predict_proba(X[250:700]), device[250:700])
