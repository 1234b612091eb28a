"""A validation set of the user's own (X_val, y_val), divergence, scikit-learn's loss names."""

import warnings

import numpy as np
import pytest
import sklearn
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import StandardScaler

from skmlp import MLPKerasClassifier, MLPKerasRegressor, _engine

FAST = dict(hidden_layer_sizes=(16,), epochs=3, dropout=0.0, random_state=0)


def _split(digits):
    X, y = digits
    return X[:1200], y[:1200], X[1200:], y[1200:]


def _evaluated_loss(estimator, X_val, y_val) -> float:
    """Keras' own loss of the fitted network on the rows (its first value)."""
    result = estimator.model_.evaluate(X_val, y_val, verbose=0)
    return float(result[0] if isinstance(result, list) else result)


@pytest.mark.parametrize(
    "engine",
    [pytest.param("auto", marks=pytest.mark.backends), "keras"],  # the engine's own
)
def test_val_history_is_computed_on_exactly_those_rows(digits, engine, monkeypatch):
    X, y, X_val, y_val = _split(digits)
    trained, train = [], _engine.train
    monkeypatch.setattr(
        _engine, "train", lambda model, **kw: trained.append(kw) or train(model, **kw)
    )
    clf = MLPKerasClassifier(**FAST, engine=engine).fit(X, y, X_val=X_val, y_val=y_val)
    assert len(clf.history_["val_loss"]) == 3 and "val_accuracy" in clf.history_
    # The last epoch's val_loss is the final network's loss on X_val.
    assert clf.history_["val_loss"][-1] == pytest.approx(
        _evaluated_loss(clf, X_val, y_val), rel=1e-4
    )
    assert clf.validation_scores_[-1] == pytest.approx(
        clf.score(X_val, y_val), abs=1e-6
    )
    if engine == "auto":  # every row of X trains; the validation rows are X_val
        assert trained[-1]["data"][0].shape[0] == len(X)
        assert trained[-1]["validation"][0].shape[0] == len(X_val)


def test_early_stopping_watches_x_val_and_restores_its_best_epoch(digits):
    X, y, X_val, y_val = _split(digits)
    clf = MLPKerasClassifier(
        (16,), epochs=30, learning_rate=0.05, early_stopping=True, patience=2,
        dropout=0.0, random_state=0,
    ).fit(X, y, X_val=X_val, y_val=y_val)  # fmt: skip
    losses = clf.history_["val_loss"]
    assert len(losses) < 30  # it stopped
    assert _evaluated_loss(clf, X_val, y_val) == pytest.approx(min(losses), rel=1e-4)


def test_x_val_errors_name_the_fix(digits):
    X, y, X_val, y_val = _split(digits)
    with pytest.raises(ValueError, match="X_val and validation_split=0.2 both"):
        MLPKerasClassifier(**FAST, validation_split=0.2).fit(
            X, y, X_val=X_val, y_val=y_val
        )
    with pytest.raises(ValueError, match="X_val and y_val go together"):
        MLPKerasClassifier(**FAST).fit(X, y, X_val=X_val)
    with pytest.raises(ValueError, match="y_val: y contains labels not seen"):
        MLPKerasClassifier(**FAST).fit(X[y < 5], y[y < 5], X_val=X_val, y_val=y_val)
    with pytest.raises(ValueError, match="X has 10 features"):
        MLPKerasClassifier(**FAST).fit(X, y, X_val=X_val[:, :10], y_val=y_val)
    clf = MLPKerasClassifier(**FAST)
    with pytest.raises(ValueError, match="X_val has 10 rows and y_val 20"):
        clf.fit(X, y, X_val=X_val[:10], y_val=y_val[:20])
    assert not hasattr(clf, "model_")  # a failed fit leaves nothing


def test_x_val_through_a_pipeline_under_metadata_routing(digits):
    X, y, X_val, y_val = _split(digits)
    with sklearn.config_context(enable_metadata_routing=True):
        network = MLPKerasClassifier(**FAST).set_fit_request(X_val=True, y_val=True)
        pipe = Pipeline(
            [("scale", StandardScaler()), ("mlp", network)], transform_input=["X_val"]
        )
        pipe.fit(X, y, X_val=X_val, y_val=y_val)
    scaled = pipe["scale"].transform(X_val)  # X_val went through the scaler
    assert pipe["mlp"].history_["val_loss"][-1] == pytest.approx(
        _evaluated_loss(pipe["mlp"], scaled, y_val), rel=1e-4
    )


def test_divergence_with_early_stopping_keeps_the_best_epoch():
    # scikit-learn's test_mlp_diverging_loss: a learning rate too high for a
    # linear network; with early stopping the fit stops, keeps the best epoch
    # and warns, instead of failing.
    rng = np.random.default_rng(0)
    X = rng.normal(size=(200, 5))
    y = X @ rng.normal(size=5)
    X_val, y_val = X[:50], y[:50]
    params = dict(
        hidden_layer_sizes=(16,), activation="linear", optimizer="sgd",
        learning_rate=0.4, epochs=200, batch_size=200, dropout=0.0, random_state=0,
    )  # fmt: skip
    reg = MLPKerasRegressor(**params, early_stopping=True, patience=300)
    with pytest.warns(UserWarning, match="diverged at epoch .* restored its best"):
        reg.fit(X, y, X_val=X_val, y_val=y_val)
    losses = np.array(reg.history_["val_loss"])
    assert len(losses) < 200 and np.isfinite(reg.predict(X)).all()
    assert _evaluated_loss(reg, X_val, y_val) == pytest.approx(
        np.nanmin(losses), rel=1e-4
    )
    # Without early stopping there is no best epoch to keep: an error, as before.
    plain = MLPKerasRegressor(**params)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(_engine.DivergenceError, match="diverged"):
            plain.fit(X, y)
    assert not hasattr(plain, "model_")


@pytest.mark.parametrize(
    ("cls", "loss", "keras_loss", "output"),
    [
        (MLPKerasRegressor, "squared_error", "mean_squared_error", "linear"),
        (MLPKerasRegressor, "absolute_error", "mean_absolute_error", "linear"),
        (MLPKerasRegressor, "poisson", "poisson", "exponential"),
        (MLPKerasClassifier, "log_loss", "sparse_categorical_crossentropy", "softmax"),
    ],
)
def test_scikit_learns_loss_names_mean_keras_losses(
    digits, cls, loss, keras_loss, output
):
    X, y = digits
    est = cls((4,), epochs=1, loss=loss, random_state=0).fit(X / 16, y)
    assert (est._spec.loss, est._spec.output_activation) == (keras_loss, output)
    assert est.model_.loss == keras_loss
