"""Each picture rendered to a PNG with Agg, and checked for what it must show."""

import matplotlib

matplotlib.use("Agg")

from types import SimpleNamespace  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
from sklearn.model_selection import GridSearchCV  # noqa: E402
from sklearn.pipeline import make_pipeline  # noqa: E402
from sklearn.preprocessing import StandardScaler  # noqa: E402

from skmlp import MLPKerasClassifier, plotting  # noqa: E402
from skmlp.datasets import make_cosine_classes  # noqa: E402

FAST = dict(hidden_layer_sizes=(16,), epochs=3, learning_rate=0.01, random_state=0)


@pytest.fixture(scope="module")
def fitted(digits):
    X, y = digits
    return MLPKerasClassifier(validation_split=0.2, **FAST).fit(X, y)


def _saved(fig, tmp_path, name):
    path = tmp_path / f"{name}.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and path.stat().st_size > 5000
    plt.close(fig)
    return path


def test_plot_history(fitted, tmp_path):
    fig, axes = plotting.plot_history(fitted)
    assert [ax.get_ylabel() for ax in axes] == ["accuracy", "loss"]
    for ax in axes:
        assert [line.get_label() for line in ax.get_lines()] == ["train", "validation"]
        assert len(ax.get_lines()[0].get_xdata()) == 3 and ax.get_xlabel() == "epoch"
    _saved(fig, tmp_path, "history")


def test_history_display_places_validation_at_its_epochs(digits, tmp_path):
    X, y = digits
    clf = MLPKerasClassifier(
        validation_split=0.2, fit__validation_freq=3, **{**FAST, "epochs": 7}
    ).fit(X, y)
    display = plotting.HistoryDisplay.from_estimator(clf, metrics=["loss"])
    assert isinstance(display, plotting.HistoryDisplay)
    train, validation = display.axes_[0].get_lines()
    assert list(train.get_xdata()) == [1, 2, 3, 4, 5, 6, 7]
    assert list(validation.get_xdata()) == [3, 6]  # Keras validated there
    # plot() draws the same display again on other axes.
    fig, ax = plt.subplots()
    assert display.plot(["loss"], ax=ax).figure_ is fig
    _saved(fig, tmp_path, "history_freq")


def test_plot_history_from_pipeline_search_and_given_axes(digits, tmp_path):
    X, y = digits
    search = GridSearchCV(
        make_pipeline(StandardScaler(), MLPKerasClassifier(**FAST)),
        {"mlpkerasclassifier__dropout": [0.0]},
        cv=2,
    ).fit(X, y)
    fig, given = plt.subplots(1, 1)
    _, axes = plotting.plot_history(search, metrics=["loss"], ax=given)
    assert axes == [given] and given.get_lines()[0].get_label() == "train"
    _saved(fig, tmp_path, "history_search")
    with pytest.raises(TypeError, match="no training history"):
        plotting.plot_history(StandardScaler())
    with pytest.raises(ValueError, match="history has no 'val_loss'"):
        plotting.plot_history({"loss": [1.0]}, metrics=["val_loss"])


def test_plot_digits_marks_wrong_predictions(digits, tmp_path):
    X, y = digits
    predictions = y.copy()
    predictions[[1, 4]] = (y[[1, 4]] + 1) % 10
    fig, axes = plotting.plot_digits(X, y, predictions, n_images=10, ncols=5)
    flat = np.ravel(axes)
    assert len(flat) == 10 and flat[0].get_images()[0].get_array().shape == (8, 8)
    assert flat[1].title.get_color() == "red" and flat[0].title.get_color() == "black"
    assert flat[1].get_title() == f"{predictions[1]} ({y[1]})"
    _saved(fig, tmp_path, "digits")
    fig, axes = plotting.plot_digits(X.reshape(-1, 8, 8)[:3])
    assert sum(ax.get_visible() for ax in np.ravel(axes)) == 3
    plt.close(fig)
    with pytest.raises(ValueError, match="not square"):
        plotting.plot_digits(np.zeros((2, 10)))


def test_plot_confusion_matrix_uses_sklearn_display(fitted, digits, tmp_path):
    from sklearn.metrics import ConfusionMatrixDisplay, confusion_matrix

    X, y = digits
    display = plotting.plot_confusion_matrix(fitted, X, y)
    assert isinstance(display, ConfusionMatrixDisplay)
    np.testing.assert_array_equal(
        display.confusion_matrix, confusion_matrix(y, fitted.predict(X))
    )
    assert (
        display.ax_.get_xlabel() == "Predicted label"
        and display.ax_.get_title() == "confusion matrix"
    )
    _saved(display.figure_, tmp_path, "confusion")
    # Normalised shares of 10 classes: two decimals each, so none runs into
    # the next cell (scikit-learn's ".2g" wrote 0.0056).
    shares = plotting.plot_confusion_matrix(fitted, X, y, normalize="true")
    texts = [t.get_text() for t in shares.text_.ravel()]
    assert all(len(t) == 4 and t[1] == "." for t in texts), texts[:12]
    _saved(shares.figure_, tmp_path, "confusion_normalised")


def test_plot_decision_regions_on_cosine_data(tmp_path):
    X, y = make_cosine_classes(600, random_state=0)
    clf = MLPKerasClassifier((8,), epochs=20, learning_rate=0.02, random_state=0).fit(
        X, y
    )
    fig, ax = plt.subplots()
    display = plotting.plot_decision_regions(clf, X, y, ax=ax, grid_resolution=50)
    assert display.ax_ is ax and ax.get_xlabel() == "x1"
    assert len(ax.collections) >= 3  # filled regions and one scatter per class
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["0", "1"]
    _saved(fig, tmp_path, "regions")
    with pytest.raises(ValueError, match="need 2-D data"):
        plotting.plot_decision_regions(clf, np.zeros((3, 3)), [0, 1, 0])


def test_plot_search_results_one_and_two_parameters(digits, tmp_path):
    X, y = digits
    search = GridSearchCV(
        MLPKerasClassifier(**FAST),
        {"hidden_layer_sizes": [(8,), (16, 8)], "activation": ["relu", "tanh"]},
        cv=2,
    ).fit(X, y)
    fig, ax = plotting.plot_search_results(search, ["hidden_layer_sizes", "activation"])
    assert ax.get_xlabel() == "hidden_layer_sizes" and len(ax.get_lines()) >= 2
    assert [t.get_text() for t in ax.get_xticklabels()] == ["8", "16-8"]
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [
        "activation=relu",
        "activation=tanh",
    ]
    _saved(fig, tmp_path, "search2")
    fig, ax = plotting.plot_search_results(search, ["activation"])
    assert ax.get_xlabel() == "activation"
    _saved(fig, tmp_path, "search1")
    with pytest.raises(ValueError, match="choose one or two"):
        plotting.plot_search_results(search, ["dropout"])


def test_network_summary_counts_the_labs_network_parameters(fitted):
    from skmlp import MLPKerasRegressor, network_summary, summary

    text = network_summary(MLPKerasClassifier((128, 128)), n_features=784, n_outputs=10)
    assert "Total params: 118,282" in text and "dense_2 (Dense)" in text
    assert text.n_params == 118_282
    assert [count for _, _, count in text.layers if count] == [100_480, 16_512, 1_290]
    # A notebook echoes the table itself (not a quoted string), or its HTML.
    assert repr(text) == str(text) and "\\n" not in repr(text)
    assert "<td style='text-align:right'>118,282</td>" in text._repr_html_()
    assert "Trainable params: 1,210" in network_summary(fitted)  # 64*16+16 + 16*10+10
    assert "Total params: 17" in summary(  # the earlier name still works
        MLPKerasRegressor((4,)), n_features=2, n_outputs=1
    )
    with pytest.raises(ValueError, match="not fitted"):
        network_summary(MLPKerasClassifier())


def test_digits_display_from_an_estimator(fitted, digits, tmp_path):
    X, y = digits
    display = plotting.DigitsDisplay.from_estimator(fitted, X, y, n_images=12)
    titles = [ax.get_title() for ax in np.ravel(display.axes_) if ax.get_visible()]
    predicted = fitted.predict(X[:12])
    assert titles == [f"{p} ({t})" for p, t in zip(predicted, y[:12], strict=True)]
    _saved(display.figure_, tmp_path, "digits_display")


def test_plot_search_results_ignores_failed_fits():
    from types import SimpleNamespace

    search = SimpleNamespace(
        cv_results_={
            "param_optimizer": np.ma.array(
                ["adam", "adam", "sgd", "sgd"], dtype=object
            ),
            "param_momentum": np.ma.array([0.0, 0.9, 0.0, 0.9], dtype=object),
            "mean_test_score": np.array([0.91, np.nan, 0.85, 0.88]),
            "std_test_score": np.array([0.01, np.nan, 0.02, 0.03]),
        }
    )
    fig, ax = plotting.plot_search_results(search, ["optimizer"])
    np.testing.assert_allclose(
        np.asarray(ax.get_lines()[0].get_ydata(), dtype=float), [0.91, 0.88]
    )
    assert ax.get_title() == "grid search (1 of 4 candidates failed)"
    display = plotting.SearchResultsDisplay.from_search(search, ["optimizer"])
    assert display.n_failed_ == 1 and display.axes_.get_xlabel() == "optimizer"


class _Notebook:
    """What LiveHistory sees of a Jupyter kernel: each picture it shows."""

    def __init__(self, monkeypatch):
        import IPython.display

        self.shown = []  # ("display" or "update", PNG bytes)
        shell = SimpleNamespace(execution_count=1, kernel=object())
        monkeypatch.setattr(plotting, "_jupyter_shell", lambda: shell)
        monkeypatch.setattr(IPython.display, "display", self.display)

    def display(self, image, display_id=False):
        assert display_id is True  # a handle, so that the next epochs update it
        self.shown.append(("display", image.data))
        return SimpleNamespace(
            update=lambda new: self.shown.append(("update", new.data))
        )


@pytest.mark.parametrize(
    "engine, every, routed, draws, validated",
    [
        # The engine's path (one per backend), redrawing every epoch.
        pytest.param("auto", 1, {}, [1, 2, 3], [1, 2, 3], marks=pytest.mark.backends),
        # Keras' model.fit (its callback loop is Keras' own on every backend),
        # validating every 2nd epoch and redrawing every 2nd and after the last.
        ("keras", 2, {"fit__validation_freq": 2}, [2, 3], [2]),
    ],
)
def test_live_history_redraws_each_epoch_and_ends_as_from_estimator(
    digits, monkeypatch, spy, engine, every, routed, draws, validated
):
    X, y = digits[0][:300], digits[1][:300]
    notebook = _Notebook(monkeypatch)
    drawn = spy(plotting.HistoryDisplay, "plot")  # each returns the display drawn
    live = plotting.LiveHistory(every=every)
    clf = MLPKerasClassifier(
        (8,), epochs=3, validation_split=0.2, engine=engine, callbacks=[live],
        random_state=0, **routed,
    ).fit(X, y)  # fmt: skip
    shown = ["display"] + ["update"] * (len(draws) - 1)  # one picture, updated
    assert [kind for kind, _ in notebook.shown] == shown
    # Each redraw drew the epochs done so far, with their values.
    assert [len(display.history["loss"]) for display in drawn] == draws
    for display, n in zip(drawn, draws, strict=True):
        n_val = sum(epoch <= n for epoch in validated)
        assert display.history == {
            k: v[: n_val if k.startswith("val_") else n]
            for k, v in clf.history_.items()
        }
    assert live.history_ == clf.history_
    assert live.display_ is drawn[-1]  # the live figure, not drawn again
    lines = live.display_.axes_[1].lines  # loss: train, validation
    assert [line.get_xdata().tolist() for line in lines] == [[1, 2, 3], validated]
    # The last picture is the static one, as from_estimator draws it.
    static = plotting.HistoryDisplay.from_estimator(clf)
    assert notebook.shown[-1][1] == plotting._png(static.figure_)
    plt.close(static.figure_)


def test_live_history_outside_a_notebook_clone_and_pickle(digits, spy):
    import doctest
    import pickle

    from sklearn.base import clone

    assert plotting._jupyter_shell() is None  # pytest is no Jupyter kernel
    X, y = digits[0][:300], digits[1][:300]
    live = plotting.LiveHistory(metrics=["loss"])
    clf = MLPKerasClassifier((8,), epochs=2, callbacks=[live], random_state=0)
    with pytest.raises(AttributeError, match="has not watched a fit"):
        _ = live.display_
    drawn = spy(plotting.HistoryDisplay, "plot")
    # A clone's fit (as a search's) reports to the callback the user made.
    fitted = clone(clf).fit(X, y)
    assert drawn == [] and live.history_ == fitted.history_  # nothing drawn yet
    assert fitted.callbacks[0] is not live and not hasattr(
        fitted.callbacks[0], "history_"
    )
    static = plotting.HistoryDisplay.from_estimator(fitted, ["loss"])
    assert plotting._png(live.display_.figure_) == plotting._png(static.figure_)
    assert len(drawn) == 2 and live.display_ is drawn[1]  # drawn once, when read
    # Pickling keeps the parameters only; the copy reports to nobody else.
    again = pickle.loads(pickle.dumps(fitted)).callbacks[0]
    assert repr(again) == "LiveHistory(metrics=['loss'])" and again._root is None
    assert not hasattr(again, "history_") and again.model is None
    again = pickle.loads(pickle.dumps(live))
    assert not hasattr(again, "history_")
    plt.close("all")
    result = doctest.testmod(plotting, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0 and result.failed == 0
