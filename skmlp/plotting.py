"""The labs' pictures, one call each (needs matplotlib: ``pip install matplotlib``).

Every function draws on the matplotlib ``ax`` (or axes) it is given, or on a
new figure, and returns what it drew so that it can be styled further.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np


def _pyplot():
    try:
        import matplotlib.pyplot as plt
    except ImportError:  # pragma: no cover - depends on the install
        raise ImportError(
            "skmlp.plotting needs matplotlib: pip install matplotlib"
        ) from None
    return plt


def _history_of(source: Any) -> Mapping[str, Sequence[float]]:
    """The per-epoch history of an estimator, pipeline, search, Keras History or dict."""
    if isinstance(source, Mapping):
        return source
    for attribute in ("best_estimator_", "steps"):  # a search, then a pipeline
        if hasattr(source, attribute):
            inner = (
                source.best_estimator_
                if attribute == "best_estimator_"
                else source.steps[-1][1]
            )
            return _history_of(inner)
    if hasattr(source, "history_"):
        return source.history_
    if hasattr(source, "history") and isinstance(source.history, Mapping):
        return source.history  # keras.callbacks.History
    raise TypeError(
        f"no training history in {type(source).__name__}: pass a fitted skmlp "
        f"estimator, a pipeline or search ending in one, or a history dict."
    )


def plot_history(estimator_or_history, metrics=None, ax=None):
    """Training vs. validation curves per epoch, one panel per metric.

    Parameters
    ----------
    estimator_or_history : fitted estimator, Pipeline, search, History or dict
        Where to find ``history_`` (a search's ``best_estimator_``, a
        pipeline's last step).
    metrics : list of str, default=None
        Which curves: by default 'accuracy' (when recorded) and 'loss'.
    ax : matplotlib Axes or sequence of Axes, default=None
        One per metric; new ones side by side when None.

    Returns
    -------
    fig : matplotlib Figure
    axes : list of Axes
    """
    history = _history_of(estimator_or_history)
    if metrics is None:
        metrics = [m for m in ("accuracy", "loss") if m in history]
    missing = [m for m in metrics if m not in history]
    if missing:
        raise ValueError(f"history has no {missing[0]!r}; it has {sorted(history)}")
    plt = _pyplot()
    from matplotlib.ticker import MaxNLocator

    if ax is None:
        fig, axes = plt.subplots(
            1, len(metrics), figsize=(5 * len(metrics), 3.6), squeeze=False
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
            panel.plot(
                np.linspace(1, len(epochs), len(val)),
                val,
                marker=".",
                label="validation",
            )
        panel.xaxis.set_major_locator(MaxNLocator(integer=True))
        panel.set_xlabel("epoch")
        panel.set_ylabel(metric)
        panel.set_title(f"model {metric}")
        panel.legend()
        panel.grid(alpha=0.3)
    fig.tight_layout()
    return fig, axes


def plot_digits(X, y=None, predictions=None, *, n_images=25, ncols=None, axes=None):
    """A grid of digit images, wrong predictions titled and framed in red.

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

    Returns
    -------
    fig : matplotlib Figure
    axes : ndarray of Axes
    """
    X = np.asarray(X)
    n = min(n_images, len(X))
    if X.ndim == 2:
        side = math.isqrt(X.shape[1])
        if side * side != X.shape[1]:
            raise ValueError(
                f"rows of {X.shape[1]} values are not square images; pass X as (n, rows, cols)"
            )
        images = X[:n].reshape(n, side, side)
    elif X.ndim == 3:
        images = X[:n]
    else:
        raise ValueError(
            f"X must be (n, pixels) or (n, rows, cols); got shape {X.shape}"
        )
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
    return fig, axes


def plot_confusion_matrix(estimator, X, y, *, normalize=None, ax=None, **kwargs):
    """The confusion matrix of a fitted classifier on ``X, y``.

    A thin call of scikit-learn's ``ConfusionMatrixDisplay.from_estimator``;
    extra keyword arguments go to it.

    Returns
    -------
    sklearn.metrics.ConfusionMatrixDisplay
        With ``.figure_``, ``.ax_`` and ``.confusion_matrix``.
    """
    _pyplot()
    from sklearn.metrics import ConfusionMatrixDisplay

    kwargs.setdefault("cmap", "Blues")
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


def plot_search_results(search, params=None, *, ax=None):
    """Mean cross-validated score across one or two parameters of a search.

    One parameter: the mean test score with its standard deviation as error
    bars. Two: one line per value of the second.

    Parameters
    ----------
    search : fitted GridSearchCV or RandomizedSearchCV
    params : list of one or two str, default=None
        Parameter names (as in ``param_grid``); by default the search's
        parameters when there are one or two.
    ax : matplotlib Axes, default=None

    Returns
    -------
    fig : matplotlib Figure
    ax : Axes
    """
    results = search.cv_results_
    names = [k[len("param_") :] for k in results if k.startswith("param_")]
    params = list(params) if params is not None else names
    if not 1 <= len(params) <= 2 or any(p not in names for p in params):
        raise ValueError(
            f"choose one or two of the searched parameters {names}; got {params}"
        )
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(6, 4)) if ax is None else (ax.figure, ax)
    x_values = list(dict.fromkeys(_label(v) for v in results[f"param_{params[0]}"]))
    groups = (
        list(dict.fromkeys(_label(v) for v in results[f"param_{params[1]}"]))
        if len(params) == 2
        else [None]
    )
    for group in groups:
        means, stds = [], []
        for x in x_values:
            mask = np.array([_label(v) == x for v in results[f"param_{params[0]}"]])
            if group is not None:
                mask &= np.array(
                    [_label(v) == group for v in results[f"param_{params[1]}"]]
                )
            # Where other parameters vary too, show the best setting of them
            # (failed fits, scored NaN, never count as the best).
            scores = np.asarray(results["mean_test_score"], dtype=float)
            usable = mask & np.isfinite(scores)
            best = np.argmax(np.where(usable, scores, -np.inf))
            means.append(scores[best] if usable.any() else np.nan)
            stds.append(results["std_test_score"][best] if usable.any() else np.nan)
        label = f"{params[1]}={group}" if group is not None else "mean test score"
        ax.errorbar(
            range(len(x_values)), means, yerr=stds, marker="o", capsize=3, label=label
        )
    ax.set_xticks(range(len(x_values)), x_values)
    ax.set_xlabel(params[0])
    ax.set_ylabel("mean test score")
    failed = int(np.sum(~np.isfinite(np.asarray(results["mean_test_score"], float))))
    total = len(results["mean_test_score"])
    ax.set_title(
        "grid search" + (f" ({failed} of {total} candidates failed)" if failed else "")
    )
    ax.legend()
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig, ax
