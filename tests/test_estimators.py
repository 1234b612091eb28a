"""MLPKerasClassifier and MLPKerasRegressor in scikit-learn's machinery."""

import ast
import inspect
import pickle
import re

import joblib
import numpy as np
import pandas as pd
import pytest
from sklearn.base import clone, is_classifier, is_regressor
from sklearn.ensemble import VotingClassifier
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import (
    GridSearchCV,
    RandomizedSearchCV,
    StratifiedKFold,
    cross_val_score,
)
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import skmlp
from skmlp import MLPKerasClassifier, MLPKerasRegressor, _network
from skmlp._keras import keras

from .conftest import ROOT

FAST = dict(hidden_layer_sizes=(32,), epochs=8, learning_rate=0.01, random_state=0)


def _stated_defaults(text: str, entry: str) -> dict:
    """``{name: default}`` from the lines of ``text`` matching ``entry``."""
    return {name: ast.literal_eval(value) for name, value in re.findall(entry, text)}


def _docstring_defaults(cls) -> dict:
    """The defaults a numpydoc docstring's Parameters section states."""
    section = re.search(
        r"\n    Parameters\n    -+\n(.*?)\n    Attributes\n", cls.__doc__, re.S
    )
    return _stated_defaults(section.group(1), r"(?m)^    (\w+) : .*default=(.+)$")


def _guide_defaults() -> dict:
    """The defaults the user guide's table of every parameter states."""
    guide = (ROOT / "docs" / "user-guide.md").read_text()
    table = guide.split("<!-- parameter table")[1].split("<!-- end of parameter")[0]
    return _stated_defaults(table, r"(?m)^\| `(\w+)` \| `([^`]*)` \|")


@pytest.mark.parametrize("cls", [MLPKerasClassifier, MLPKerasRegressor])
def test_defaults_are_the_documented_values(cls):
    # What the docstring (help(), the API reference) and the user guide's
    # table state is the signature's default, type included (0 is not 0.0).
    documented = {"docstring": _docstring_defaults(cls), "guide": _guide_defaults()}
    for name, p in inspect.signature(cls).parameters.items():
        if p.kind is p.VAR_KEYWORD:
            continue
        for where, stated in documented.items():
            assert name in stated, f"{where} states no default for {name}"
            assert (stated[name], type(stated[name])) == (
                p.default,
                type(p.default),
            ), f"{cls.__name__}({name}=...): {where} says {stated[name]!r}"
    assert is_classifier(cls()) is (cls is MLPKerasClassifier)
    assert is_regressor(cls()) is (cls is MLPKerasRegressor)


@pytest.mark.backends
def test_fitted_attributes(digits):
    X, y = digits
    clf = MLPKerasClassifier(validation_split=0.2, **FAST).fit(X, y)
    assert clf.n_features_in_ == 64
    np.testing.assert_array_equal(clf.classes_, np.arange(10))
    assert set(clf.history_) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert clf.n_iter_ == 8 == len(clf.history_["val_loss"])
    assert clf.model_.count_params() == 64 * 32 + 32 + 32 * 10 + 10
    assert clf.score(X, y) > 0.9


def test_feature_names_from_dataframe(digits):
    X, y = digits
    frame = pd.DataFrame(X, columns=[f"px{i}" for i in range(64)])
    clf = MLPKerasClassifier(**FAST).fit(frame, y)
    assert list(clf.feature_names_in_) == list(frame.columns)


@pytest.mark.backends
def test_string_labels_and_binary_output(digits):
    X, y = digits
    labels = np.where(y % 2 == 0, "even", "odd")
    clf = MLPKerasClassifier(**FAST).fit(X, labels)
    assert clf.model_.layers[-1].units == 1  # one sigmoid unit for two classes
    proba = clf.predict_proba(X[:5])
    assert proba.shape == (5, 2)
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert set(clf.predict(X)) <= {"even", "odd"}
    assert clf.score(X, labels) > 0.85


def test_categorical_crossentropy_one_hot_matches_sparse(digits):
    X, y = digits
    sparse = MLPKerasClassifier(**FAST).fit(X, y)
    one_hot = MLPKerasClassifier(loss="categorical_crossentropy", **FAST).fit(X, y)
    np.testing.assert_allclose(
        sparse.history_["loss"], one_hot.history_["loss"], rtol=1e-4
    )


@pytest.mark.backends
def test_same_random_state_gives_identical_predictions(digits):
    X, y = digits
    a = MLPKerasClassifier(dropout=0.2, **FAST).fit(X, y).predict_proba(X)
    b = MLPKerasClassifier(dropout=0.2, **FAST).fit(X, y).predict_proba(X)
    c = MLPKerasClassifier(dropout=0.2, **{**FAST, "random_state": 1}).fit(X, y)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c.predict_proba(X))


def test_fit_leaves_global_random_state_alone(digits):
    X, y = digits
    np.random.seed(123)
    expected = np.random.rand()
    np.random.seed(123)
    MLPKerasClassifier(**FAST).fit(X, y)
    assert np.random.rand() == expected


@pytest.mark.backends
def test_pickle_and_joblib_round_trips(digits, tmp_path):
    X, y = digits
    clf = MLPKerasClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X)
    np.testing.assert_array_equal(
        pickle.loads(pickle.dumps(clf)).predict_proba(X), expected
    )
    joblib.dump(clf, tmp_path / "clf.joblib")
    np.testing.assert_array_equal(
        joblib.load(tmp_path / "clf.joblib").predict_proba(X), expected
    )


def test_clone_keeps_parameters_and_drops_fit(digits):
    X, y = digits
    clf = MLPKerasClassifier(dropout=0.1, optimizer__beta_1=0.8, **FAST).fit(X, y)
    copy = clone(clf)
    assert copy.get_params() == clf.get_params()
    assert copy.get_params()["optimizer__beta_1"] == 0.8
    assert not hasattr(copy, "model_")


def test_routed_optimizer_arguments_reach_keras(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        optimizer="sgd", optimizer__nesterov=True, momentum=0.9, **FAST
    )
    clf.fit(X, y)
    assert clf.model_.optimizer.nesterov is True
    assert clf.model_.optimizer.momentum == pytest.approx(0.9)
    clf.set_params(optimizer__nesterov=False)
    assert clf.fit(X, y).model_.optimizer.nesterov is False


def test_routed_fit_and_compile_arguments(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        validation_split=0.2,
        fit__validation_freq=2,
        compile__auto_scale_loss=False,
        **FAST,
    ).fit(X, y)
    assert len(clf.history_["val_loss"]) == 4  # every second epoch of 8


@pytest.mark.backends
def test_lab_knobs_build_the_expected_network(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        hidden_layer_sizes=(20, 10),
        activation=["elu", "sigmoid"],
        kernel_initializer="he_normal",
        dropout=[0.3, 0.0],
        batch_normalization=True,
        kernel_l1=1e-5,
        kernel_l2=1e-4,
        bias_l1=1e-5,
        activity_l2=1e-4,
        optimizer="rmsprop",
        learning_rate=0.002,
        epochs=2,
        random_state=0,
    ).fit(X, y)
    names = [layer.name for layer in clf.model_.layers]
    assert names == [
        "dense_1", "batch_norm_1", "elu_1", "dropout_1",
        "dense_2", "batch_norm_2", "sigmoid_2", "output",
    ]  # fmt: skip
    dense = clf.model_.get_layer("dense_1")
    # float(): older Keras releases hold the strengths as tensors.
    assert float(dense.kernel_regularizer.l1) == pytest.approx(1e-5)
    assert float(dense.kernel_regularizer.l2) == pytest.approx(1e-4)
    assert float(dense.activity_regularizer.l2) == pytest.approx(1e-4)
    assert type(dense.kernel_initializer).__name__ == "HeNormal"
    assert type(clf.model_.optimizer).__name__ == "RMSprop"
    assert float(clf.model_.optimizer.learning_rate) == pytest.approx(0.002)


@pytest.mark.parametrize(
    "name",
    [
        "glorot_uniform", "glorot_normal", "he_uniform", "he_normal",
        "lecun_uniform", "lecun_normal", "random_uniform", "random_normal",
        "truncated_normal",
    ],
)  # fmt: skip
def test_initial_weights_follow_keras_distributions(name):
    # skmlp draws Keras' built-in initialisers with NumPy (no compiling per
    # shape on JAX): the same distribution as Keras' own draw.
    def make(seed):
        return keras.initializers.get({"class_name": name, "config": {"seed": seed}})

    shape = (300, 200)
    ours = _network.draw(make(1), shape)
    theirs = keras.ops.convert_to_numpy(make(1)(shape))
    assert ours.shape == shape
    assert abs(ours.std() / theirs.std() - 1) < 0.03
    assert abs(ours.mean()) < 0.02 * theirs.std()
    if name != "random_normal":  # the others are bounded (uniform, or cut at 2 sd)
        assert 0.98 < np.abs(ours).max() / np.abs(theirs).max() < 1.02
    assert np.array_equal(_network.draw(make(1), shape), ours)
    assert not np.array_equal(_network.draw(make(2), shape), ours)


def test_other_initializers_are_left_to_keras():
    class Halved(keras.initializers.GlorotUniform):
        def __call__(self, shape, dtype=None):
            return super().__call__(shape, dtype) / 2

    assert _network.draw(Halved(seed=1), (3, 4)) is None
    assert _network.draw(keras.initializers.Orthogonal(seed=1), (3, 4)) is None
    assert _network.draw(keras.initializers.GlorotUniform(), (3, 4)) is None  # unseeded
    X, y = np.random.default_rng(0).random((40, 3)), np.arange(40) % 2
    clf = MLPKerasClassifier((4,), kernel_initializer=Halved(seed=1), epochs=1).fit(
        X, y
    )
    assert type(clf.model_.get_layer("dense_1").kernel_initializer) is Halved


@pytest.mark.backends
@pytest.mark.only_backend("jax")
def test_building_a_network_compiles_nothing_per_shape(caplog):
    import logging

    import jax

    est = MLPKerasClassifier(
        (23, 17), kernel_initializer="he_normal", bias_initializer="random_uniform"
    )
    from skmlp._network import build_mlp
    from skmlp._targets import ClassTargets

    spec = est._make_spec(ClassTargets.fit(np.arange(7), loss=None), 13, "float32", 9)
    with jax.log_compiles(True), caplog.at_level(logging.DEBUG, logger="jax"):
        build_mlp(spec, seed=0)
    compiled = [r.getMessage() for r in caplog.records]
    compiled = [m for m in compiled if m.startswith("Compiling")]
    assert not [m for m in compiled if "float32[" in m], compiled


def test_perceptron_has_no_hidden_layer(digits):
    X, y = digits
    clf = MLPKerasClassifier(**{**FAST, "hidden_layer_sizes": ()}).fit(X, y)
    assert [layer.name for layer in clf.model_.layers] == ["output"]
    assert clf.score(X, y) > 0.85


def test_class_weight_shifts_predictions(digits):
    X, y = digits
    weights = {c: (50.0 if c == 3 else 1.0) for c in range(10)}
    plain = MLPKerasClassifier(**FAST).fit(X, y)
    weighted = MLPKerasClassifier(class_weight=weights, **FAST).fit(X, y)
    assert (weighted.predict(X) == 3).sum() > (plain.predict(X) == 3).sum()
    assert (
        MLPKerasClassifier(class_weight="balanced", **FAST).fit(X, y).score(X, y) > 0.9
    )


@pytest.mark.backends
def test_regressor_single_and_multi_output():
    rng = np.random.RandomState(0)
    X = rng.uniform(-1, 1, size=(400, 3))
    y = np.column_stack([X[:, 0] ** 2, X[:, 1] - X[:, 2]])
    reg = MLPKerasRegressor((32,), epochs=60, learning_rate=0.01, random_state=0)
    assert reg.fit(X, y).predict(X).shape == (400, 2)
    assert reg.score(X, y) > 0.8
    one = reg.fit(X, y[:, 1]).predict(X)
    assert one.shape == (400,) and one.dtype == np.float64
    assert set(reg.history_) == {"loss"}


def test_pipeline_and_stratified_cross_validation(digits):
    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPKerasClassifier(**FAST))
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3))
    assert scores.shape == (3,) and scores.min() > 0.85


def test_grid_search_over_lab_knobs(digits):
    X, y = digits[0][:600], digits[1][:600]
    grid = {
        "hidden_layer_sizes": [(16,), (32, 16)],
        "activation": ["relu", "tanh"],
        "dropout": [0.0, 0.2],
        "kernel_l2": [0.0, 1e-4],
        "optimizer": ["adam", "sgd"],
        "learning_rate": [0.01],
    }
    # 64 candidates x 2 folds would be slow; a random subset covers all knobs.
    search = RandomizedSearchCV(
        MLPKerasClassifier(epochs=3, random_state=0),
        grid,
        n_iter=4,
        cv=2,
        random_state=0,
        error_score="raise",
    ).fit(X, y)
    assert search.best_score_ > 0.4
    # The best candidate's knobs reach its network.
    best, network = search.best_params_, search.best_estimator_.model_
    dense = [layer for layer in network.layers if type(layer).__name__ == "Dense"]
    assert tuple(layer.units for layer in dense[:-1]) == best["hidden_layer_sizes"]
    assert type(network.optimizer).__name__.lower() == best["optimizer"]
    small = GridSearchCV(
        MLPKerasClassifier(epochs=3, random_state=0),
        {
            "hidden_layer_sizes": [(16,)],
            "activation": ["relu", "sigmoid"],
            "optimizer__beta_1": [0.9, 0.8],
            "kernel_l1": [0.0, 1e-5],
            "learning_rate": [0.01],
        },
        cv=2,
        error_score="raise",
    ).fit(X, y)
    assert len(small.cv_results_["params"]) == 8
    # The routed and plain knobs reach the refitted network.
    best, network = small.best_params_, small.best_estimator_.model_
    assert network.optimizer.beta_1 == pytest.approx(best["optimizer__beta_1"])
    hidden = [layer for layer in network.layers if type(layer).__name__ == "Activation"]
    assert hidden[0].activation.__name__ == best["activation"]
    assert (network.layers[0].kernel_regularizer is None) == (best["kernel_l1"] == 0)


@pytest.mark.backends
@pytest.mark.parametrize("voting", ["soft", "hard"])
def test_voting_classifier_of_three(digits, voting):
    X, y = digits
    vote = VotingClassifier(
        [
            ("relu", MLPKerasClassifier(**{**FAST, "random_state": 1})),
            ("tanh", MLPKerasClassifier(activation="tanh", **FAST)),
            ("sig", MLPKerasClassifier(activation="sigmoid", **FAST)),
        ],
        voting=voting,
    ).fit(X, y)
    assert vote.score(X, y) > 0.9
    if voting == "soft":
        assert vote.predict_proba(X[:3]).shape == (3, 10)


def test_warm_start_continues_training(digits):
    X, y = digits
    clf = MLPKerasClassifier(warm_start=True, **FAST).fit(X, y)
    first_model = clf.model_
    clf.fit(X, y)
    assert clf.model_ is first_model and clf.n_iter_ == 8
    assert len(clf.history_["loss"]) == 16


@pytest.mark.parametrize(
    "change",
    [
        {"hidden_layer_sizes": (8,)},
        {"activation": "tanh"},
        {"batch_normalization": True},
        {"optimizer": "sgd"},
        {"optimizer__beta_1": 0.5},
        {"loss": "categorical_crossentropy"},
    ],
    ids=lambda change: next(iter(change)),
)
def test_a_continued_fit_refuses_another_network(digits, change):
    # warm_start and partial_fit continue the network as built: a changed
    # structure or optimizer was silently ignored, or (activation) trained
    # one network and predicted with another.
    X, y = digits
    clf = MLPKerasClassifier(warm_start=True, **{**FAST, "epochs": 1}).fit(X, y)
    weights = [w.copy() for w in clf.coefs_]
    name = next(iter(change))
    clf.set_params(**change)
    for call in (lambda: clf.fit(X, y), lambda: clf.partial_fit(X, y)):
        with pytest.raises(ValueError, match=rf"{name} changed .*warm_start=False"):
            call()
    assert len(clf.history_["loss"]) == 1  # nothing trained, nothing lost
    for a, b in zip(weights, clf.coefs_, strict=True):
        np.testing.assert_array_equal(a, b)
    clf.set_params(warm_start=False).fit(X, y)  # a new network: as asked
    assert len(clf.history_["loss"]) == 1
    # The same values in another container are no change.
    clf.set_params(warm_start=True, hidden_layer_sizes=list(clf.hidden_layer_sizes))
    clf.partial_fit(X, y)
    assert len(clf.history_["loss"]) == 2


@pytest.mark.backends
def test_a_continued_fit_takes_a_new_learning_rate_and_dropout(digits, monkeypatch):
    from skmlp import _engine

    X, y = digits
    clf = MLPKerasClassifier(warm_start=True, dropout=0.0, **{**FAST, "epochs": 1})
    clf.fit(X, y)
    clf.set_params(learning_rate=1e-4, dropout=0.3, kernel_initializer="zeros")
    trained, train = [], _engine.train
    monkeypatch.setattr(
        _engine, "train", lambda model, **kw: trained.append(kw) or train(model, **kw)
    )
    clf.partial_fit(X, y)
    lr = clf.model_.optimizer.learning_rate
    assert np.isclose(float(keras.ops.convert_to_numpy(lr)), 1e-4)
    # The engine trained with the new rate, in a program with a dropout layer.
    assert trained[-1]["program"].dropout_layers == (True,)
    assert trained[-1]["dropout"] == [0.3]
    # Keras' own fit trains the layers as built: a new dropout rate is refused.
    clf.set_params(engine="keras")
    with pytest.raises(ValueError, match=r"dropout changed .*engine=\"keras\""):
        clf.fit(X, y)
    clf.set_params(dropout=0.0).fit(X, y)
    assert len(clf.history_["loss"]) == 3


def test_pickle_and_save_keep_the_trained_network_after_set_params(digits, tmp_path):
    # set_params after a fit changes the parameters, not the fitted network:
    # pickle and skmlp.load rebuilt it from the new parameters (another
    # activation, or weights that no longer fit).
    X, y = digits
    clf = MLPKerasClassifier(**FAST).fit(X, y)
    expected = clf.predict_proba(X[:20])
    clf.set_params(activation="tanh", hidden_layer_sizes=(8, 8))
    clf.save(tmp_path / "clf.skmlp")
    for copy_ in (pickle.loads(pickle.dumps(clf)), skmlp.load(tmp_path / "clf.skmlp")):
        np.testing.assert_allclose(copy_.predict_proba(X[:20]), expected, atol=1e-6)
        assert copy_.get_params()["activation"] == "tanh"  # the parameters as set
        assert copy_.fit(X, y).coefs_[0].shape == (64, 8)  # and used by a new fit


# -- bad input: each gets a clear message, never a TensorFlow trace ----------


@pytest.mark.backends
def test_nan_and_inf_in_X(digits):
    X, y = digits
    bad = X.copy()
    bad[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        MLPKerasClassifier(**FAST).fit(bad, y)
    bad[0, 0] = np.inf
    with pytest.raises(ValueError, match="infinity"):
        MLPKerasClassifier(**FAST).fit(bad, y)


def test_wrong_number_of_features_at_predict(digits):
    X, y = digits
    clf = MLPKerasClassifier(**FAST).fit(X, y)
    with pytest.raises(
        ValueError, match="X has 10 features, but MLPKerasClassifier is expecting 64"
    ):
        clf.predict(X[:, :10])


def test_single_class(digits):
    X, _ = digits
    with pytest.raises(ValueError, match="at least 2 classes"):
        MLPKerasClassifier(**FAST).fit(X, np.zeros(len(X)))


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"activation": "rellu"}, r"'activation' parameter.*Did you mean 'relu'\?"),
        (
            {"activation": ["relu", "tanh"]},
            "activation has 2 entries but hidden_layer_sizes has 1",
        ),
        ({"optimizer": "adamm"}, r"'optimizer' parameter.*Did you mean 'adam'\?"),
        ({"kernel_initializer": "he_normall"}, r"Did you mean 'he_normal'\?"),
        ({"learning_rate": -0.1}, "'learning_rate' parameter.*Got -0.1"),
        ({"kernel_l2": -1.0}, "'kernel_l2' parameter.*>= 0"),
        ({"dropout": 1.0}, r"'dropout' parameter.*\[0, 1\)"),
        ({"dropout": -0.2}, r"'dropout' parameter"),
        ({"momentum": 0.9}, "momentum=0.9 applies to 'sgd' and 'rmsprop' only"),
        ({"hidden_layer_sizes": (0,)}, "'hidden_layer_sizes' parameter"),
        ({"epochs": 0}, "'epochs' parameter"),
        (
            {"optimizer__beta1": 0.9},
            r"optimizer__beta1 is not an argument of Adam.*Did you mean 'beta_1'\?",
        ),
        ({"fit__epochs": 3}, "passes 'epochs' .* from the parameter epochs"),
    ],
)
def test_bad_parameters_are_named(digits, params, message):
    X, y = digits
    clf = MLPKerasClassifier(**{**FAST, **params})
    with pytest.raises(ValueError, match=message):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")  # no half-trained model left behind


def test_a_misspelt_parameter_is_refused_at_once():
    with pytest.raises(
        TypeError,
        match=r"no parameter 'hiden_layer_sizes'.*Did you mean 'hidden_layer_sizes'\?",
    ):
        MLPKerasClassifier(hiden_layer_sizes=(3,))
    clf = MLPKerasClassifier(**FAST)
    with pytest.raises(
        ValueError, match=r"no parameter 'epoch'.*Did you mean 'epochs'\?"
    ):
        clf.set_params(epoch=3)
    assert clf.epochs == FAST.get("epochs", 12) and "epoch" not in clf.get_params()


def test_empty_and_wrongly_shaped_input(digits):
    X, y = digits
    with pytest.raises(ValueError, match="0 sample"):
        MLPKerasClassifier(**FAST).fit(X[:0], y[:0])
    with pytest.raises(ValueError, match="Expected 2D array"):
        MLPKerasClassifier(**FAST).fit(X[:, 0], y)
    with pytest.raises(ValueError, match="inconsistent numbers of samples"):
        MLPKerasClassifier(**FAST).fit(X, y[:10])
    with pytest.raises(ValueError, match="Unknown label type"):
        MLPKerasClassifier(**FAST).fit(X, np.linspace(0, 1, len(X)))


def test_predict_before_fit():
    with pytest.raises(NotFittedError, match="not fitted yet"):
        MLPKerasClassifier().predict(np.zeros((2, 3)))
    with pytest.raises(NotFittedError):
        MLPKerasRegressor().predict(np.zeros((2, 3)))


def test_validation_split_too_large_for_tiny_data():
    with pytest.raises(ValueError, match="leaves no rows for training out of 4"):
        MLPKerasClassifier(validation_split=0.8, **FAST).fit(
            np.random.rand(4, 2), [0, 1, 0, 1]
        )


def test_the_labs_common_slips_name_their_fix(digits):
    X, y = digits
    images = X.reshape(len(X), 8, 8)
    with pytest.raises(ValueError, match=r"shape \(\d+, 8, 8\).*to_features\(X\)"):
        MLPKerasClassifier(**FAST).fit(images, y)
    one_hot = np.eye(10)[y]
    # One-hot y with the default loss is multilabel, as in MLPClassifier: said.
    with pytest.warns(
        UserWarning, match=r"one-hot.*multilabel.*categorical_crossentropy"
    ):
        tagger = MLPKerasClassifier(**FAST).fit(X, one_hot)
    assert tagger.predict_proba(X[:3]).shape == (3, 10)
    assert set(np.unique(tagger.predict(X))) <= {0, 1}
    # A 2-D y that is neither labels nor indicators still names the fix.
    with pytest.raises(ValueError, match=r"y.argmax\(axis=1\)"):
        MLPKerasClassifier(**FAST).fit(X, one_hot * 2.5)
    # A DataFrame with a text column: told which, and how to encode it.
    frame = pd.DataFrame({"size": X[:, 0], "colour": np.where(y % 2, "red", "blue")})
    with pytest.raises(ValueError, match=r"non-numeric columns \['colour'\].*OneHot"):
        MLPKerasClassifier(**FAST).fit(frame, y)
    frame["colour"] = frame["colour"] == "red"  # booleans are numbers
    assert MLPKerasClassifier(**FAST).fit(frame, y).n_features_in_ == 2
    # Raw 0-255 "pixels" with a large SGD step: stuck at chance, and told why.
    raw = X * 255.0
    clf = MLPKerasClassifier(
        (16,), optimizer="sgd", learning_rate=5.0, epochs=2, random_state=0,
        activation="sigmoid",
    )  # fmt: skip
    with pytest.warns(UserWarning, match="stayed at chance level.*inputs reach"):
        clf.fit(raw, y)


def test_losses_the_ecosystem_uses(digits):
    X, y = digits
    clf = MLPKerasClassifier(**FAST).fit(X, y)
    np.testing.assert_allclose(
        np.exp(clf.predict_log_proba(X[:5])), clf.predict_proba(X[:5]), rtol=1e-6
    )
    # A regression loss on the classifier trains on one-hot targets.
    mse = MLPKerasClassifier(**{**FAST, "loss": "mse"}).fit(X, y)
    assert mse.predict_proba(X[:3]).shape == (3, 10)
    # A binary loss object gets one sigmoid unit, as its name does.
    binary = MLPKerasClassifier(
        **{**FAST, "loss": keras.losses.BinaryCrossentropy()}
    ).fit(X, y % 2)
    assert binary.model_.layers[-1].units == 1
    # Poisson rates stay positive.
    counts = np.random.default_rng(0).poisson(3.0, size=len(X)).astype(float)
    poisson = MLPKerasRegressor(**{**FAST, "loss": "poisson"}).fit(X, counts)
    assert (poisson.predict(X) > 0).all()
    with pytest.raises(ValueError, match=r"not a Keras loss.*Did you mean 'mse'\?"):
        MLPKerasClassifier(**{**FAST, "loss": "mes"}).fit(X, y)


def test_patience_may_be_infinite_and_compile_arguments_are_routed(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        **{**FAST, "early_stopping": True, "patience": np.inf, "epochs": 3}
    ).fit(X, y)
    assert clf.n_iter_ == 3
    # A routed compile argument overrides the estimator's own (jit_compile).
    routed = MLPKerasClassifier(**{**FAST, "epochs": 1, "compile__jit_compile": True})
    assert routed.fit(X, y).model_.jit_compile is True
    assert (
        MLPKerasClassifier(**{**FAST, "epochs": 1}).fit(X, y).model_.jit_compile
        is False
    )


def test_skops_saves_a_pipeline_with_a_network(digits, tmp_path):
    import skops.io as sio  # the "skops" extra, part of dev

    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPKerasClassifier(**FAST)).fit(X, y)
    path = tmp_path / "pipe.skops"
    sio.dump(pipe, path)
    untrusted = sio.get_untrusted_types(file=path)
    assert set(untrusted) <= {
        "skmlp.estimators.MLPKerasClassifier",
        "skmlp._validation.InvalidParameterError",
    }, untrusted
    loaded = sio.load(path, trusted=untrusted)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    # Training goes on from the loaded optimizer state.
    loaded[-1].set_params(warm_start=True, epochs=1).fit(loaded[0].transform(X), y)
    assert loaded[-1].n_iter_ == 1
    assert len(loaded[-1].history_["loss"]) == FAST["epochs"] + 1


def test_sparse_input_as_from_a_tf_idf_pipeline(digits):
    import scipy.sparse as sp

    X, y = digits
    dense = MLPKerasClassifier(**FAST).fit(X, y)
    for fmt in ("csr", "csc", "coo"):
        sparse = MLPKerasClassifier(**FAST).fit(getattr(sp, f"{fmt}_matrix")(X), y)
        np.testing.assert_allclose(
            sparse.predict_proba(sp.csr_matrix(X[:50])), dense.predict_proba(X[:50]),
            atol=1e-6,
        )  # fmt: skip


def test_mlpclassifier_attributes(digits):
    X, y = digits
    clf = MLPKerasClassifier(**{**FAST, "hidden_layer_sizes": (16, 8)})
    assert not hasattr(clf, "coefs_") and not hasattr(clf, "loss_curve_")
    clf.fit(X, y)
    assert [c.shape for c in clf.coefs_] == [(64, 16), (16, 8), (8, 10)]
    assert [b.shape for b in clf.intercepts_] == [(16,), (8,), (10,)]
    hidden = np.maximum(X @ clf.coefs_[0] + clf.intercepts_[0], 0)
    hidden = np.maximum(hidden @ clf.coefs_[1] + clf.intercepts_[1], 0)
    logits = hidden @ clf.coefs_[2] + clf.intercepts_[2]
    assert (logits.argmax(1) == clf.predict(X)).mean() > 0.99
    assert clf.loss_curve_ == clf.history_["loss"] and len(clf.loss_curve_) == 8
    assert clf.best_loss_ == min(clf.loss_curve_)


def test_one_hot_targets_the_labs_way(digits, tmp_path):
    X, y = digits
    one_hot = np.eye(10)[y]  # keras.utils.to_categorical(y)
    clf = MLPKerasClassifier(**{**FAST, "loss": "categorical_crossentropy"})
    clf.fit(X, one_hot)
    assert clf.classes_.tolist() == list(range(10))
    assert clf.predict(X[:3]).shape == (3, 10)  # in the form y was given
    assert clf.predict_proba(X[:3]).shape == (3, 10)
    labels = MLPKerasClassifier(**{**FAST, "loss": "categorical_crossentropy"})
    labels.fit(X, y)  # the same network from labels: the same weights
    np.testing.assert_allclose(clf.predict_proba(X), labels.predict_proba(X), atol=1e-5)
    assert clf.score(X, one_hot) == pytest.approx(labels.score(X, y))
    clf.save(tmp_path / "one_hot.skmlp")
    assert skmlp.load(tmp_path / "one_hot.skmlp").predict(X[:2]).shape == (2, 10)
    with pytest.raises(ValueError, match="keep the form of the first fit"):
        clf.partial_fit(X[:10], y[:10])


def test_validation_scores_follow_the_held_out_rows(digits):
    X, y = digits
    plain = MLPKerasClassifier(**FAST).fit(X, y)
    assert plain.validation_scores_ is None and plain.best_validation_score_ is None
    held = MLPKerasClassifier(**{**FAST, "validation_split": 0.2}).fit(X, y)
    assert held.validation_scores_ == held.history_["val_accuracy"]
    assert held.best_validation_score_ == max(held.history_["val_accuracy"])


def test_skmlp_saves_and_loads_a_pipeline_without_pickle(digits, tmp_path):
    from sklearn.base import BaseEstimator, TransformerMixin

    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPKerasClassifier(**FAST)).fit(X, y)
    skmlp.save(pipe, tmp_path / "pipe.skops")
    loaded = skmlp.load(tmp_path / "pipe.skops")
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))
    # An estimator alone still goes in skmlp's own format.
    skmlp.save(pipe[-1], tmp_path / "net.skmlp")
    np.testing.assert_array_equal(
        skmlp.load(tmp_path / "net.skmlp").predict_proba(X[:5]),
        pipe[-1].predict_proba(X[:5]),
    )

    # A file that holds a type neither scikit-learn's nor skmlp's is refused.
    class Shift(TransformerMixin, BaseEstimator):
        def fit(self, X, y=None):
            return self

        def transform(self, X):
            return X + 1

    skmlp.save(make_pipeline(Shift(), pipe[-1]), tmp_path / "other.skops")
    with pytest.raises(ValueError, match="types that skmlp does not load.*Shift"):
        skmlp.load(tmp_path / "other.skops")

    # Keras objects as parameters: what skops cannot store, or skmlp will not
    # load, is said with the way round it (skops' own error was a TypeError
    # about __slots__).
    with_object = make_pipeline(
        StandardScaler(), MLPKerasClassifier(optimizer=keras.optimizers.SGD(0.1))
    )
    with pytest.raises(TypeError, match=r"Keras objects.*optimizer='sgd'"):
        skmlp.save(with_object, tmp_path / "sgd.skops")
    assert not (tmp_path / "sgd.skops").exists()
    with_object[-1].set_params(
        optimizer="adam", kernel_initializer=keras.initializers.HeNormal()
    )
    skmlp.save(with_object, tmp_path / "he.skops")
    with pytest.raises(ValueError, match=r"HeNormal.*kernel_initializer='he_normal'"):
        skmlp.load(tmp_path / "he.skops")


def test_mlflow_logs_and_loads_a_pipeline_in_skops_format(
    digits, tmp_path, monkeypatch
):
    import mlflow  # the "mlflow" extra (mlflow-skinny), part of dev
    import mlflow.sklearn

    monkeypatch.setenv("MLFLOW_DISABLE_TELEMETRY", "true")
    monkeypatch.setenv("MLFLOW_ALLOW_FILE_STORE", "true")  # no database here
    X, y = digits
    pipe = make_pipeline(StandardScaler(), MLPKerasClassifier(**FAST)).fit(X, y)
    mlflow.set_tracking_uri((tmp_path / "runs").as_uri())
    with mlflow.start_run():
        info = mlflow.sklearn.log_model(
            pipe,
            name="model",
            serialization_format="skops",
            skops_trusted_types=["skmlp.estimators.MLPKerasClassifier"],
            pip_requirements=["skmlp"],  # not inferred: that would reload it
        )
    loaded = mlflow.sklearn.load_model(info.model_uri)
    np.testing.assert_array_equal(loaded.predict_proba(X), pipe.predict_proba(X))


def test_export_for_serving_as_a_tensorflow_saved_model(digits, tmp_path):
    import tensorflow as tf

    X, y = digits
    clf = MLPKerasClassifier(**FAST).fit(X, y)
    clf.export(tmp_path / "served")
    served = tf.saved_model.load(str(tmp_path / "served"))
    outputs = np.asarray(served.serve(X[:20].astype(np.float32)))
    np.testing.assert_allclose(outputs, clf.predict_proba(X[:20]), atol=1e-5)


def test_float64_networks_save_load_and_pickle_as_float64(digits, tmp_path):
    X, y = digits[0].astype(np.float64), digits[1]
    reg = MLPKerasRegressor((8,), epochs=2, dtype="input", random_state=0).fit(X, y)
    assert reg.predict(X).dtype == np.float64
    reg.save(tmp_path / "reg.skmlp")
    for copy in (skmlp.load(tmp_path / "reg.skmlp"), pickle.loads(pickle.dumps(reg))):
        assert [w.dtype for w in copy.coefs_] == [np.float64, np.float64]
        np.testing.assert_array_equal(copy.predict(X), reg.predict(X))
        copy.partial_fit(X.astype(np.float32), y)  # continues in float64
        assert copy.coefs_[0].dtype == np.float64
    # The default is Keras' float32, for float64 data too; predictions come
    # in the input's type (scikit-learn's checks ask float64 for float64).
    default = MLPKerasRegressor((8,), epochs=1, random_state=0).fit(X, y)
    assert default.coefs_[0].dtype == np.float32
    assert default.predict(X).dtype == np.float64
    assert default.predict(X.astype(np.float32)).dtype == np.float32


def test_keras_fit_refuses_float64_penalties_it_cannot_add(digits):
    X, y = digits
    clf = MLPKerasClassifier(
        (8,), epochs=1, dtype="float64", kernel_l2=1e-3, engine="keras"
    )
    with pytest.raises(ValueError, match="cannot train a float64 network with L1/L2"):
        clf.fit(X, y)
    assert not hasattr(clf, "model_")


def test_export_to_onnx_serves_the_same_probabilities(digits, tmp_path):
    import onnxruntime

    X, y = digits
    clf = MLPKerasClassifier(**FAST).fit(X, y)
    clf.export(tmp_path / "clf.onnx", format="onnx")
    session = onnxruntime.InferenceSession(str(tmp_path / "clf.onnx"))
    (inputs,) = session.get_inputs()
    (outputs,) = session.run(None, {inputs.name: X[:20].astype(np.float32)})
    np.testing.assert_allclose(outputs, clf.predict_proba(X[:20]), atol=1e-5)
