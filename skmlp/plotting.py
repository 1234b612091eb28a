"""The labs' pictures, one call each (needs matplotlib: ``pip install matplotlib``).

scikit-learn's Display pattern, as ``ConfusionMatrixDisplay``:
``HistoryDisplay.from_estimator(clf)``, ``DigitsDisplay.from_data(X, y)``,
``SearchResultsDisplay.from_search(search)`` draw at once and return the
display (``figure_``, ``axes_``; ``plot(ax=...)`` draws it again elsewhere).
The ``plot_*`` functions are the same calls by their earlier names. Every
one draws on the matplotlib ``ax`` (or axes) it is given, or a new figure.
"""

from __future__ import annotations

import copy
import io
import math
import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ._keras import keras

__all__ = [
    "HistoryDisplay",
    "plot_history",
    "LiveHistory",
    "DigitsDisplay",
    "plot_digits",
    "plot_confusion_matrix",
    "plot_decision_regions",
    "SearchResultsDisplay",
    "plot_search_results",
]


def _matplotlib():
    try:
        import matplotlib.figure
    except ImportError:  # pragma: no cover - depends on the install
        raise ImportError(
            "skmlp.plotting needs matplotlib: pip install matplotlib"
        ) from None
    return matplotlib


def _pyplot():
    _matplotlib()
    import matplotlib.pyplot as plt

    return plt


def _estimator_of(source: Any):
    """The skmlp estimator inside a search or pipeline, or None."""
    if hasattr(source, "best_estimator_"):
        return _estimator_of(source.best_estimator_)
    if hasattr(source, "steps"):
        return _estimator_of(source.steps[-1][1])
    return source if hasattr(source, "history_") else None


def _history_of(source: Any) -> Mapping[str, Sequence[float]]:
    """The per-epoch history of an estimator, pipeline, search, Keras History or dict."""
    if isinstance(source, Mapping):
        return source
    estimator = _estimator_of(source)
    if estimator is not None:
        return estimator.history_
    if hasattr(source, "history") and isinstance(source.history, Mapping):
        return source.history  # keras.callbacks.History
    raise TypeError(
        f"no training history in {type(source).__name__}: pass a fitted skmlp "
        f"estimator, a pipeline or search ending in one, or a history dict."
    )


class _Display:
    """What skmlp's displays share with scikit-learn's (``ConfusionMatrixDisplay``).

    ``figure_`` and ``axes_`` are set by ``plot``. A display also unpacks as
    ``figure, axes``, which is what earlier releases' functions returned.
    """

    figure_: Any
    axes_: Any

    def __iter__(self):
        return iter((self.figure_, self.axes_))


def _validation_epochs(n_epochs: int, n_values: int, every) -> np.ndarray:
    """The epochs at which validation scores were recorded.

    Keras validates every epoch, or every ``validation_freq``-th epoch (an
    int), or at the listed epochs.
    """
    if isinstance(every, int) and every > 1:
        epochs = np.arange(every, n_epochs + 1, every)
    elif isinstance(every, (list, tuple)):
        epochs = np.asarray(sorted(every))
    else:
        epochs = np.arange(1, n_epochs + 1)
    if len(epochs) != n_values:  # a history from elsewhere: the last epochs
        epochs = np.arange(n_epochs - n_values + 1, n_epochs + 1)
    return epochs


def _chosen_metrics(history: Mapping, metrics: Sequence[str] | None) -> list[str]:
    """The metrics to draw: those asked for, or 'accuracy' (if recorded) and 'loss'."""
    if metrics is None:
        return [m for m in ("accuracy", "loss") if m in history]
    missing = [m for m in metrics if m not in history]
    if missing:
        raise ValueError(f"history has no {missing[0]!r}; it has {sorted(history)}")
    return list(metrics)


def _history_size(n_metrics: int) -> tuple[float, float]:
    """The size of a new history figure (inches): 5 wide per metric."""
    return (5 * n_metrics, 3.6)


class HistoryDisplay(_Display):
    """Training vs. validation curves per epoch, one panel per metric.

    Make one with :meth:`from_estimator` (or :func:`plot_history`); it draws
    at once, and ``plot`` draws it again on other axes.

    Parameters
    ----------
    history : dict of list of float
        Per-epoch values, as an estimator's ``history_``.
    validation_freq : int or list of int, default=1
        How often the validation scores were recorded (Keras'
        ``validation_freq``), to place them at their epochs.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : list of Axes
        One per metric.
    """

    def __init__(self, history: Mapping[str, Sequence[float]], validation_freq=1):
        self.history = history
        self.validation_freq = validation_freq

    @classmethod
    def from_estimator(cls, estimator, metrics=None, *, ax=None) -> HistoryDisplay:
        """Draw the history of a fitted estimator, pipeline, search or ``History``.

        Parameters
        ----------
        estimator : fitted estimator, Pipeline, search, History or dict
            Where to find ``history_`` (a search's ``best_estimator_``, a
            pipeline's last step).
        metrics : list of str, default=None
            Which curves: by default 'accuracy' (when recorded) and 'loss'.
        ax : matplotlib Axes or sequence of Axes, default=None
            One per metric; new ones side by side when None.
        """
        freq = 1
        inner = _estimator_of(estimator)
        if inner is not None:
            freq = getattr(inner, "_routed_params", {}).get("fit__validation_freq", 1)
        return cls(_history_of(estimator), freq).plot(metrics, ax=ax)

    def plot(self, metrics=None, *, ax=None) -> HistoryDisplay:
        """Draw the curves (on ``ax``, one Axes per metric, or a new figure)."""
        history = self.history
        metrics = _chosen_metrics(history, metrics)
        from matplotlib.ticker import MaxNLocator

        if ax is None:
            fig, axes = _pyplot().subplots(
                1, len(metrics), figsize=_history_size(len(metrics)), squeeze=False
            )
            axes = list(axes[0])
        else:
            axes = list(np.atleast_1d(ax))
            if len(axes) != len(metrics):
                raise ValueError(f"got {len(axes)} axes for {len(metrics)} metrics")
            fig = axes[0].figure
        for metric, panel in zip(metrics, axes, strict=True):
            epochs = np.arange(1, len(history[metric]) + 1)
            panel.plot(epochs, history[metric], marker=".", label="train")
            if f"val_{metric}" in history:
                val = history[f"val_{metric}"]
                at = _validation_epochs(len(epochs), len(val), self.validation_freq)
                panel.plot(at, val, marker=".", label="validation")
            panel.xaxis.set_major_locator(MaxNLocator(integer=True))
            panel.set_xlabel("epoch")
            panel.set_ylabel(metric)
            panel.set_title(f"model {metric}")
            panel.legend()
            panel.grid(alpha=0.3)
        fig.tight_layout()
        self.figure_, self.axes_ = fig, axes
        return self


def plot_history(estimator_or_history, metrics=None, ax=None) -> HistoryDisplay:
    """Training vs. validation curves per epoch, one panel per metric.

    ``HistoryDisplay.from_estimator``; see there for the parameters.

    Returns
    -------
    HistoryDisplay
        With ``figure_`` and ``axes_`` (it unpacks as ``figure, axes``).
    """
    return HistoryDisplay.from_estimator(estimator_or_history, metrics, ax=ax)


def _jupyter_shell():
    """The IPython shell of a running Jupyter kernel, or None.

    None in a script, a terminal (IPython's too: it cannot show pictures in
    place) and a search's worker processes. IPython is not imported here: a
    kernel has always imported it already.
    """
    if "IPython" not in sys.modules:
        return None
    from IPython import get_ipython

    shell = get_ipython()
    return shell if getattr(shell, "kernel", None) is not None else None


def _png(figure) -> bytes:
    """``figure`` rendered as PNG (with whatever canvas it has: no pyplot)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()


class LiveHistory(keras.callbacks.Callback):
    """A training curve that draws itself in a notebook while a fit runs.

    A Keras callback: pass it in an estimator's ``callbacks``. In a Jupyter
    notebook it shows the fit's :class:`HistoryDisplay` below the running
    cell and redraws it in place after every ``every``-th epoch, ending with
    the whole fit as ``HistoryDisplay.from_estimator`` draws it afterwards.
    Elsewhere (a script, a terminal, a search's worker processes) it draws
    nothing while training, and ``display_`` draws the finished curve when
    first read. Fits without it are not touched.

    Parameters
    ----------
    metrics : list of str, default=None
        Which curves, as in :meth:`HistoryDisplay.plot`: by default
        'accuracy' (when recorded) and 'loss'.
    every : int, default=1
        Redraw after every ``every``-th epoch (and after the last one). A
        redraw takes tens of milliseconds: raise it when epochs are shorter.

    Attributes
    ----------
    history_ : dict of list of float
        The last fit's values per epoch, filled in as it trains (that fit
        only: with ``warm_start`` or ``partial_fit`` the estimator's
        ``history_`` holds every call's epochs).
    display_ : HistoryDisplay
        The last fit's curves, with ``figure_`` and ``axes_``.

    Notes
    -----
    Each fit trains with a copy of its callbacks, so that the estimator stays
    clonable and picklable. The copies report to the object you made,
    copies of an estimator made by ``clone`` (as a search makes) included,
    as long as they train in this process: in a notebook the fits of one
    cell share one picture, which shows the fit in progress. A pickled copy
    keeps the parameters only (its pictures stay behind).

    Examples
    --------
    >>> from sklearn.base import clone
    >>> from skmlp import MLPKerasClassifier
    >>> from skmlp.plotting import LiveHistory
    >>> live = LiveHistory(every=5)
    >>> clf = MLPKerasClassifier((32,), epochs=20, callbacks=[live])
    >>> clone(clf).callbacks
    [LiveHistory(every=5)]

    After ``clf.fit(X, y)`` in a notebook the curve has drawn itself below
    the cell; ``live.display_.figure_`` is the picture.
    """

    def __init__(self, metrics: Sequence[str] | None = None, every: int = 1):
        super().__init__()
        if isinstance(every, bool) or not isinstance(every, int) or every < 1:
            raise ValueError(f"every must be an int >= 1; got {every!r}")
        self.metrics = metrics
        self.every = every
        self._root: LiveHistory | None = None  # the object the user made
        self._output = None  # in the root: (notebook cell, display handle)
        self._display: HistoryDisplay | None = None

    # What a fit's copy records; never copied or pickled.
    _RUNTIME = (
        "_model", "params", "_root", "_output", "_display", "history_",
        "_val_epochs", "_epochs", "_drawn", "_figure", "_shell",
    )  # fmt: skip

    def __repr__(self) -> str:
        given = [f"metrics={self.metrics!r}"] if self.metrics is not None else []
        given += [f"every={self.every!r}"] if self.every != 1 else []
        return f"{type(self).__name__}({', '.join(given)})"

    def __getstate__(self) -> dict:
        return {k: v for k, v in self.__dict__.items() if k not in self._RUNTIME}

    def __setstate__(self, state: dict) -> None:
        LiveHistory.__init__(self)
        self.__dict__.update(state)

    def __deepcopy__(self, memo) -> LiveHistory:
        new = type(self).__new__(type(self))
        new.__setstate__(copy.deepcopy(self.__getstate__(), memo))
        new._root = self._root if self._root is not None else self
        return new

    @property
    def display_(self) -> HistoryDisplay:
        """The last fit's curves (drawn now if no notebook drew them)."""
        if "history_" not in self.__dict__:
            raise AttributeError(
                "this LiveHistory has not watched a fit yet: pass it in an "
                "estimator's callbacks and fit"
            )
        if self._display is None:
            self._display = HistoryDisplay(
                self._snapshot(), list(self._val_epochs)
            ).plot(self.metrics)
        return self._display

    def _snapshot(self) -> dict[str, list[float]]:
        return {key: list(values) for key, values in self.history_.items()}

    def on_train_begin(self, logs=None) -> None:
        root = self._root if self._root is not None else self
        self.history_, self._val_epochs = {}, []
        root.history_, root._val_epochs, root._display = (
            self.history_, self._val_epochs, None
        )  # fmt: skip
        self._epochs = self._drawn = 0
        self._figure = None
        self._shell = _jupyter_shell()

    def on_epoch_end(self, epoch, logs=None) -> None:
        self._epochs += 1
        for key, value in (logs or {}).items():
            self.history_.setdefault(key, []).append(float(value))
            if key.startswith("val_") and self._val_epochs[-1:] != [self._epochs]:
                self._val_epochs.append(self._epochs)
        if self._shell is not None and self._epochs % self.every == 0:
            self._draw()

    def on_train_end(self, logs=None) -> None:
        if self._shell is not None and self._drawn < self._epochs:
            self._draw()  # the last epochs, when ``every`` skipped them
        self._shell = None

    def _draw(self) -> None:
        """Draw the epochs so far and show them in the cell's output."""
        from IPython.display import Image, display

        root = self._root if self._root is not None else self
        shown = HistoryDisplay(self._snapshot(), list(self._val_epochs))
        metrics = _chosen_metrics(shown.history, self.metrics)
        if self._figure is None:
            # Not pyplot's: the notebook shows it through the handle only
            # (pyplot would show it again at the cell's end), and nothing is
            # left open once the fit is done.
            self._figure = _matplotlib().figure.Figure()
        figure = self._figure
        figure.clear()
        figure.set_size_inches(_history_size(len(metrics)))
        axes = list(figure.subplots(1, len(metrics), squeeze=False)[0])
        shown.plot(metrics, ax=axes)
        image = Image(data=_png(figure), format="png")
        cell = getattr(self._shell, "execution_count", None)
        if root._output is not None and root._output[0] == cell:
            root._output[1].update(image)
        else:
            root._output = (cell, display(image, display_id=True))
        root._display, self._drawn = shown, self._epochs


class DigitsDisplay(_Display):
    """A grid of digit images, wrong predictions titled and framed in red.

    Parameters
    ----------
    images : ndarray of shape (n, rows, cols)
    labels : array-like of shape (n,), default=None
        True labels, shown in the titles.
    predictions : array-like of shape (n,), default=None
        Predicted labels; shown as "pred (true)", red where wrong.

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : ndarray of Axes
    """

    def __init__(self, images, labels=None, predictions=None):
        self.images, self.labels, self.predictions = images, labels, predictions

    @classmethod
    def from_data(
        cls, X, y=None, predictions=None, *, n_images=25, ncols=None, axes=None
    ) -> DigitsDisplay:
        """Draw the first ``n_images`` rows of ``X`` (flat rows or images).

        Parameters
        ----------
        X : array-like of shape (n, 784), (n, 28, 28) or any square size
            Flat rows are reshaped to square images.
        y : array-like of shape (n,), default=None
            True labels, shown in the titles.
        predictions : array-like of shape (n,), default=None
            Predicted labels; shown as "pred (true)", red where wrong.
        n_images : int, default=25
            How many of the first rows to show.
        ncols : int, default=None
            Columns of the grid (about square by default).
        axes : array of Axes, default=None
            At least ``n_images`` axes to draw on.
        """
        X = np.asarray(X)
        n = min(n_images, len(X))
        if X.ndim == 2:
            side = math.isqrt(X.shape[1])
            if side * side != X.shape[1]:
                raise ValueError(
                    f"rows of {X.shape[1]} values are not square images; pass X as "
                    f"(n, rows, cols)"
                )
            images = X[:n].reshape(n, side, side)
        elif X.ndim == 3:
            images = X[:n]
        else:
            raise ValueError(
                f"X must be (n, pixels) or (n, rows, cols); got shape {X.shape}"
            )
        cut = lambda a: None if a is None else np.asarray(a)[:n]  # noqa: E731
        return cls(images, cut(y), cut(predictions)).plot(ncols=ncols, axes=axes)

    @classmethod
    def from_estimator(
        cls, estimator, X, y=None, *, images=None, n_images=25, ncols=None, axes=None
    ) -> DigitsDisplay:
        """Draw ``X``'s digits titled with ``estimator``'s predictions.

        ``images``: the pictures to show when ``X`` is not them (features
        of another shape); by default ``X`` itself.
        """
        predictions = estimator.predict(np.asarray(X)[:n_images])
        return cls.from_data(
            X if images is None else images, None if y is None else y[:n_images],
            predictions, n_images=n_images, ncols=ncols, axes=axes,
        )  # fmt: skip

    def plot(self, *, ncols=None, axes=None) -> DigitsDisplay:
        """Draw the grid (on ``axes``, at least one per image, or a new figure)."""
        images, y, predictions = self.images, self.labels, self.predictions
        n = len(images)
        plt = _pyplot()
        if axes is None:
            ncols = ncols or math.ceil(math.sqrt(n))
            nrows = math.ceil(n / ncols)
            fig, axes = plt.subplots(
                nrows, ncols, figsize=(1.4 * ncols, 1.6 * nrows), squeeze=False
            )
        else:
            fig = np.ravel(axes)[0].figure
        flat = np.ravel(axes)
        if len(flat) < n:
            raise ValueError(f"got {len(flat)} axes for {n} images")
        for i, panel in enumerate(flat):
            panel.set_xticks([])
            panel.set_yticks([])
            if i >= n:
                panel.set_visible(False)
                continue
            panel.imshow(images[i], cmap="gray_r")
            wrong = predictions is not None and y is not None and predictions[i] != y[i]
            if predictions is not None:
                title = f"{predictions[i]}" + (f" ({y[i]})" if y is not None else "")
            elif y is not None:
                title = f"{y[i]}"
            else:
                title = ""
            panel.set_title(title, color="red" if wrong else "black", fontsize=9)
            if wrong:
                for spine in panel.spines.values():
                    spine.set_edgecolor("red")
                    spine.set_linewidth(2)
        fig.tight_layout()
        self.figure_, self.axes_ = fig, axes
        return self


def plot_digits(
    X, y=None, predictions=None, *, n_images=25, ncols=None, axes=None
) -> DigitsDisplay:
    """A grid of digit images, wrong predictions titled and framed in red.

    ``DigitsDisplay.from_data``: the first ``n_images`` rows of ``X`` (flat
    rows or images), titled with ``y`` and ``predictions``, on ``axes`` or a
    new figure of ``ncols`` columns.

    Returns
    -------
    DigitsDisplay
        With ``figure_`` and ``axes_`` (it unpacks as ``figure, axes``).
    """
    return DigitsDisplay.from_data(
        X, y, predictions, n_images=n_images, ncols=ncols, axes=axes
    )


def plot_confusion_matrix(estimator, X, y, *, normalize=None, ax=None, **kwargs):
    """The confusion matrix of a fitted classifier on ``X, y``.

    A thin call of scikit-learn's ``ConfusionMatrixDisplay.from_estimator``;
    extra keyword arguments go to it.

    Returns
    -------
    sklearn.metrics.ConfusionMatrixDisplay
        With ``.figure_``, ``.ax_`` and ``.confusion_matrix``.
    """
    plt = _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    kwargs.setdefault("cmap", "Blues")
    n_classes = len(getattr(estimator, "classes_", ()))
    if normalize is not None:
        # Shares to two decimals: scikit-learn's default ".2g" writes 0.0056,
        # which runs into the next cell's number on a 10-class matrix.
        kwargs.setdefault("values_format", ".2f")
    if n_classes >= 8:
        kwargs.setdefault("text_kw", {"fontsize": 8})
        if ax is None:
            _, ax = plt.subplots(figsize=(7, 6))
    display = ConfusionMatrixDisplay.from_estimator(
        estimator, X, y, normalize=normalize, ax=ax, **kwargs
    )
    display.ax_.set_title("confusion matrix")
    return display


def plot_decision_regions(estimator, X, y, *, ax=None, grid_resolution=200, **kwargs):
    """Decision regions of a fitted classifier over 2-D data, with the points.

    Built on scikit-learn's ``DecisionBoundaryDisplay``; extra keyword
    arguments go to it.

    Returns
    -------
    sklearn.inspection.DecisionBoundaryDisplay
        With ``.figure_`` and ``.ax_``.
    """
    _pyplot()
    from sklearn.inspection import DecisionBoundaryDisplay

    X = np.asarray(X)
    if X.ndim != 2 or X.shape[1] != 2:
        raise ValueError(f"decision regions need 2-D data (n, 2); got shape {X.shape}")
    kwargs.setdefault("alpha", 0.4)
    kwargs.setdefault("cmap", "coolwarm")
    display = DecisionBoundaryDisplay.from_estimator(
        estimator,
        X,
        ax=ax,
        grid_resolution=grid_resolution,
        response_method="predict",
        **kwargs,
    )
    classes = np.unique(y)
    import matplotlib

    colors = matplotlib.colormaps[kwargs["cmap"]](np.linspace(0, 1, len(classes)))
    for color, label in zip(colors, classes, strict=True):
        mask = np.asarray(y) == label
        display.ax_.scatter(
            X[mask, 0],
            X[mask, 1],
            s=8,
            color=color,
            edgecolor="k",
            linewidth=0.2,
            label=str(label),
        )
    display.ax_.set_xlabel("x1")
    display.ax_.set_ylabel("x2")
    display.ax_.legend(title="class")
    return display


def _label(value) -> str:
    if isinstance(value, (tuple, list)):
        return "-".join(str(v) for v in value) or "()"
    return str(value)


class SearchResultsDisplay(_Display):
    """Mean cross-validated score across one or two parameters of a search.

    One parameter: the mean test score with its standard deviation as error
    bars. Two: one line per value of the second. Where other parameters vary
    too, each point is their best setting; failed candidates (scored NaN) are
    left out and counted in the title.

    Parameters
    ----------
    cv_results : dict
        A fitted search's ``cv_results_``.
    params : list of one or two str
        Parameter names (as in ``param_grid``).

    Attributes
    ----------
    figure_ : matplotlib Figure
    axes_ : Axes
    n_failed_ : int
        Candidates whose fits failed.
    """

    def __init__(self, cv_results: Mapping, params: Sequence[str]):
        self.cv_results = cv_results
        self.params = list(params)

    @classmethod
    def from_search(cls, search, params=None, *, ax=None) -> SearchResultsDisplay:
        """Draw a fitted ``GridSearchCV`` or ``RandomizedSearchCV``'s results.

        ``params``: one or two of the searched parameters; by default the
        search's own when there are one or two.
        """
        results = search.cv_results_
        names = [k[len("param_") :] for k in results if k.startswith("param_")]
        params = list(params) if params is not None else names
        if not 1 <= len(params) <= 2 or any(p not in names for p in params):
            raise ValueError(
                f"choose one or two of the searched parameters {names}; got {params}"
            )
        return cls(results, params).plot(ax=ax)

    def plot(self, *, ax=None) -> SearchResultsDisplay:
        """Draw the scores (on ``ax``, or a new figure)."""
        results, params = self.cv_results, self.params
        plt = _pyplot()
        fig, ax = plt.subplots(figsize=(6, 4)) if ax is None else (ax.figure, ax)
        firsts = [_label(v) for v in results[f"param_{params[0]}"]]
        x_values = list(dict.fromkeys(firsts))
        seconds = (
            [_label(v) for v in results[f"param_{params[1]}"]]
            if len(params) == 2
            else None
        )
        groups = list(dict.fromkeys(seconds)) if seconds is not None else [None]
        scores = np.asarray(results["mean_test_score"], dtype=float)
        for group in groups:
            means, stds = [], []
            for x in x_values:
                mask = np.array([v == x for v in firsts])
                if group is not None:
                    mask &= np.array([v == group for v in seconds])
                # Failed fits, scored NaN, never count as the best.
                usable = mask & np.isfinite(scores)
                best = np.argmax(np.where(usable, scores, -np.inf))
                means.append(scores[best] if usable.any() else np.nan)
                stds.append(results["std_test_score"][best] if usable.any() else np.nan)
            label = f"{params[1]}={group}" if group is not None else "mean test score"
            ax.errorbar(
                range(len(x_values)), means, yerr=stds, marker="o", capsize=3,
                label=label,
            )  # fmt: skip
        ax.set_xticks(range(len(x_values)), x_values)
        ax.set_xlabel(params[0])
        ax.set_ylabel("mean test score")
        self.n_failed_ = int(np.sum(~np.isfinite(scores)))
        failed = self.n_failed_
        ax.set_title(
            "grid search"
            + (f" ({failed} of {len(scores)} candidates failed)" if failed else "")
        )
        ax.legend()
        ax.grid(alpha=0.3)
        fig.tight_layout()
        self.figure_, self.axes_ = fig, ax
        return self


def plot_search_results(search, params=None, *, ax=None) -> SearchResultsDisplay:
    """Mean cross-validated score across one or two parameters of a search.

    ``SearchResultsDisplay.from_search``; see there for the parameters.

    Returns
    -------
    SearchResultsDisplay
        With ``figure_`` and ``axes_`` (it unpacks as ``figure, ax``).
    """
    return SearchResultsDisplay.from_search(search, params, ax=ax)
