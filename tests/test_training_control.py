"""Early stopping, TensorBoard, callbacks, partial_fit, warm_start, saving."""

import pickle
import subprocess
import sys
import textwrap

import keras
import numpy as np
import pytest
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, cross_val_score

import skmlp
from skmlp import MLPKerasClassifier, MLPKerasRegressor

FAST = dict(hidden_layer_sizes=(32,), learning_rate=0.01, random_state=0)


def test_early_stopping_stops_and_reports_epochs_run(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        epochs=200,
        early_stopping=True,
        patience=2,
        learning_rate=0.05,
        **{k: v for k, v in FAST.items() if k != "learning_rate"},
    ).fit(X, y)
    assert clf.n_iter_ < 200
    assert clf.n_iter_ == len(clf.history_["val_loss"])  # a default 0.1 split
    best = int(np.argmin(clf.history_["val_loss"]))
    assert clf.n_iter_ == best + 1 + 2  # stopped `patience` epochs after the best


def test_early_stopping_restores_best_weights(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        epochs=200, early_stopping=True, patience=3, validation_split=0.2, **FAST
    ).fit(X, y)
    n_val = len(X) - int(np.floor(len(X) * 0.8))  # Keras' rule
    X_val, y_val = X[-n_val:], y[-n_val:]
    loss = clf.model_.evaluate(X_val, y_val, verbose=0)[0]
    assert loss == pytest.approx(min(clf.history_["val_loss"]), rel=1e-4)


def test_early_stopping_is_grid_searchable(digits):
    X, y = digits
    search = GridSearchCV(
        MLPKerasClassifier(epochs=30, early_stopping=True, **FAST),
        {"patience": [1, 3]},
        cv=2,
        error_score="raise",
    ).fit(X, y)
    # A candidate's score is that of its own fits, run one by one.
    alone = cross_val_score(
        MLPKerasClassifier(epochs=30, early_stopping=True, patience=3, **FAST),
        X, y, cv=2,
    )  # fmt: skip
    assert search.cv_results_["mean_test_score"][1] == pytest.approx(
        alone.mean(), abs=1e-6
    )
    assert search.best_estimator_.n_iter_ < 30  # early stopping took effect


def test_tensorboard_writes_one_run_per_fit_with_loss_scalars(digits, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    X, y = digits
    clf = MLPKerasClassifier(
        epochs=3, tensorboard_dir=tmp_path, validation_split=0.2, **FAST
    )
    first = clf.fit(X, y).tensorboard_log_dir_
    second = clf.fit(X, y).tensorboard_log_dir_
    runs = sorted(p for p in tmp_path.iterdir())
    assert len(runs) == 2 and first != second
    assert "h32_relu_adam" in first
    events = EventAccumulator(
        str(runs[0] / "train"), size_guidance={"tensors": 0}
    ).Reload()
    tags = events.Tags()
    assert "epoch_loss" in tags["tensors"]
    assert len(events.Tensors("epoch_loss")) == 3
    assert any("kernel" in tag and "histogram" in tag for tag in tags["tensors"])
    assert (runs[0] / "validation").is_dir()


class EpochCounter(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.epochs_seen = 0

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_seen += 1


def test_callbacks_survive_clone_pickle_and_search(digits):
    X, y = digits
    counter = EpochCounter()
    clf = MLPKerasClassifier(epochs=2, callbacks=[counter], **FAST)
    clf.fit(X, y)
    assert counter.epochs_seen == 0  # the user's object is copied, never trained
    copy = clone(clf)
    assert (
        isinstance(copy.callbacks[0], EpochCounter) and copy.callbacks[0] is not counter
    )
    restored = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(restored.predict(X), clf.predict(X))
    assert isinstance(restored.callbacks[0], EpochCounter)
    stopper = keras.callbacks.EarlyStopping(monitor="loss", patience=1)
    GridSearchCV(
        MLPKerasClassifier(epochs=2, callbacks=[stopper], **FAST),
        {"dropout": [0.0, 0.1]},
        cv=2,
        error_score="raise",
    ).fit(X, y)


def test_partial_fit_one_epoch_per_call(digits):
    X, y = digits
    clf = MLPKerasClassifier(**FAST)
    with pytest.raises(ValueError, match="classes must be passed on the first call"):
        clf.partial_fit(X[:100], y[:100])
    clf.partial_fit(X[:500], y[:500], classes=np.arange(10))
    assert clf.n_iter_ == 1
    model = clf.model_
    for start in range(500, len(X), 500):
        clf.partial_fit(X[start : start + 500], y[start : start + 500])
    # n_iter_ counts this call's epochs, history_ all of them (MLPClassifier's way).
    assert clf.model_ is model and clf.n_iter_ == 1 and len(clf.history_["loss"]) == 4
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    with pytest.raises(ValueError, match="labels not seen in the first fit"):
        clf.partial_fit(X[:10], y[:10] + 10)
    with pytest.raises(ValueError, match="X has 3 features"):
        clf.partial_fit(X[:10, :3], y[:10])
    assert clf.score(X, y) > 0.7


def test_partial_fit_regressor_and_fit_resets(digits):
    X, y = digits
    reg = MLPKerasRegressor(**FAST)
    reg.partial_fit(X, y.astype(float)).partial_fit(X, y.astype(float))
    assert reg.n_iter_ == 1 and len(reg.history_["loss"]) == 2
    reg.set_params(epochs=3).fit(X, y.astype(float))
    assert reg.n_iter_ == 3 == len(reg.history_["loss"])  # fit starts afresh


def assert_same_network(a, b):
    for p, q in zip(a.coefs_ + a.intercepts_, b.coefs_ + b.intercepts_, strict=True):
        np.testing.assert_allclose(p, q, rtol=1e-5, atol=1e-6)  # float32 noise


def test_continued_fits_match_one_longer_fit(digits):
    # A continued fit keeps the weights and the optimizer's state (Adam's
    # moments and step count). Without shuffling or dropout nothing random is
    # drawn after the initial weights, so three warm-start fits of 2 epochs,
    # or six partial_fit calls on all rows, are one fit of 6 epochs.
    X, y = digits[0][:600], digits[1][:600]
    params = dict(
        hidden_layer_sizes=(16,), dropout=0.0, shuffle=False, batch_size=64,
        optimizer="adam", learning_rate=0.01, random_state=0,
    )  # fmt: skip
    longer = MLPKerasClassifier(epochs=6, **params).fit(X, y)
    warm = MLPKerasClassifier(epochs=2, warm_start=True, **params)
    for _ in range(3):
        warm.fit(X, y)
    partial = MLPKerasClassifier(**params).partial_fit(X, y, classes=np.arange(10))
    for _ in range(5):
        partial.partial_fit(X, y)
    assert warm.n_iter_ == 2 and partial.n_iter_ == 1 and longer.n_iter_ == 6
    for continued in (warm, partial):
        np.testing.assert_allclose(
            continued.history_["loss"], longer.history_["loss"], rtol=1e-5
        )
        assert_same_network(continued, longer)


def test_continued_fits_draw_from_one_random_stream(digits, monkeypatch):
    # With shuffling and dropout, successive warm-start fits continue one
    # random stream: each call draws new shuffles and masks, and the same
    # calls from the same random_state give the same network (also with a
    # pickle between them); fit with warm_start=False starts it over.
    from skmlp._base import _BaseMLP

    seeds = []  # the shuffle and dropout seeds of each epoch the engine trains
    engine_arguments = _BaseMLP._engine_arguments

    def record(self, spec, X, y, sample_weight, n_train, epoch_seeds, *rest):
        seeds.append(epoch_seeds.tolist())
        return engine_arguments(
            self, spec, X, y, sample_weight, n_train, epoch_seeds, *rest
        )

    monkeypatch.setattr(_BaseMLP, "_engine_arguments", record)
    X, y = digits[0][:600], digits[1][:600]
    params = dict(
        hidden_layer_sizes=(16,), dropout=0.3, batch_size=64, epochs=1,
        learning_rate=0.01, random_state=0, warm_start=True,
    )  # fmt: skip
    first = MLPKerasClassifier(**params)
    for _ in range(3):
        first.fit(X, y)
    assert len(seeds) == 3 and len({str(s) for s in seeds}) == 3  # new each call
    again = MLPKerasClassifier(**params).fit(X, y)
    again = pickle.loads(pickle.dumps(again)).fit(X, y).fit(X, y)
    assert seeds[3:] == seeds[:3]
    assert_same_network(again, first)
    assert len(again.history_["loss"]) == 3
    afresh = first.set_params(warm_start=False).fit(X, y)
    assert seeds[-1] == seeds[0] and len(afresh.history_["loss"]) == 1
    assert_same_network(afresh, MLPKerasClassifier(**params).fit(X, y))


def test_save_and_load_in_another_process(digits, tmp_path):
    X, y = digits
    labels = np.array(list("abcdefghij"))[y]
    clf = MLPKerasClassifier(
        epochs=3, optimizer__beta_1=0.85, dropout=0.1, batch_normalization=True, **FAST
    )
    clf.fit(X, labels)
    clf.save(str(tmp_path / "digits.skmlp"))  # a str, as the user guide does
    np.save(tmp_path / "X.npy", X)
    np.save(tmp_path / "expected.npy", clf.predict_proba(X))
    script = textwrap.dedent(
        f"""
        import numpy as np, skmlp
        clf = skmlp.load({str(tmp_path / "digits.skmlp")!r})
        X = np.load({str(tmp_path / "X.npy")!r})
        np.testing.assert_array_equal(clf.predict_proba(X), np.load({str(tmp_path / "expected.npy")!r}))
        assert clf.classes_.tolist() == list("abcdefghij"), clf.classes_
        assert clf.get_params()["optimizer__beta_1"] == 0.85
        assert clf.n_iter_ == 3 and clf.n_features_in_ == 64
        clf.set_params(warm_start=True).fit(X[:200], clf.predict(X[:200]))  # trains on
        assert clf.n_iter_ == 3 and len(clf.history_["loss"]) == 6
        print("loaded ok")
        """
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "loaded ok" in result.stdout


def test_load_refuses_what_is_not_an_skmlp_file(tmp_path):
    (tmp_path / "x.skmlp").write_bytes(b"not a zip")
    with pytest.raises(ValueError, match="not an skmlp file"):
        skmlp.load(tmp_path / "x.skmlp")


def test_save_before_fit():
    from sklearn.exceptions import NotFittedError

    with pytest.raises(NotFittedError):
        MLPKerasClassifier().save("never.skmlp")


def test_early_stopping_validates_on_a_stratified_sample_of_sorted_data(digits):
    X, y = digits
    order = np.argsort(y, kind="stable")  # class-sorted: the last 10% all 8s and 9s
    clf = MLPKerasClassifier(
        (32,), early_stopping=True, epochs=6, learning_rate=0.01, random_state=0
    ).fit(X[order], y[order])
    # On the last rows alone (two classes never trained on), validation
    # accuracy would stay near 0; a stratified sample scores like training.
    assert clf.history_["val_accuracy"][-1] > 0.8


def test_validation_strategy_stratified_holds_out_every_class(digits, spy):
    from skmlp import _base

    X, y = digits
    order = np.argsort(y, kind="stable")  # sorted by class, as lab data can be
    X, y = X[order], y[order]
    orders = spy(_base, "random_rows_last")  # _base calls it by that name
    last = MLPKerasClassifier(epochs=1, validation_split=0.2, **FAST).fit(X, y)
    assert orders == []  # Keras' rule: the last rows (here only 8s and 9s)
    drawn = MLPKerasClassifier(
        epochs=1, validation_split=0.2, validation_strategy="stratified", **FAST
    ).fit(X, y)
    ((_, targets, _),) = orders
    n_train = int(len(X) * 0.8)  # Keras' rule: floor(n * (1 - split))
    assert len(np.unique(targets[n_train:])) == 10  # every class validated
    assert len(drawn.history_["val_loss"]) == len(last.history_["val_loss"]) == 1
