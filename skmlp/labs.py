"""The labs' experiments as skmlp configurations, and a runner for them.

``EXPERIMENTS`` lists every experiment of the labs with the configuration
that reproduces it and the accuracy the labs published; ``run_experiments``
trains them and puts skmlp's figure beside the published one. The
``skmlp labs`` command, the examples and ``docs/labs.md`` all come from here.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ._evaluation import fit_estimators
from .datasets import make_cosine_classes, to_features
from .estimators import MLPKerasClassifier
from .preprocessing import SubsetSplitter

__all__ = [
    "Experiment",
    "get_experiment",
    "make_estimator",
    "prepare_data",
    "run_experiment",
    "run_experiments",
    "summarize",
    "render_page",
]

# Shared settings of the labs' experiment groups (../shared/spec/labs.md, 2).
_A = dict(
    optimizer="sgd",
    learning_rate=0.1,
    batch_size=128,
    validation_split=0.2,
    dropout=0.0,
)
# C (002_...) and E (003_...): four sigmoid/ReLU/ELU layers of 50, 100 epochs,
# 30% validation, Keras' default batch of 32, on raw 0-255 pixels.
_CE = dict(
    hidden_layer_sizes=(50, 50, 50, 50),
    epochs=100,
    validation_split=0.3,
    batch_size=32,
    dropout=0.0,
)
_SGD = dict(_CE, optimizer="sgd", learning_rate=0.001)
_ADAM = dict(_CE, optimizer="adam", learning_rate=0.001)
_D = dict(optimizer="adam", batch_size=128, validation_split=0.1, dropout=0.0)
_S = dict(optimizer="adam", epochs=10, validation_split=0.2, batch_size=32, dropout=0.0)

# B1's activity penalty as the lab's Keras applied it: summed over the batch's
# rows, where Keras divides it by the batch size since keras-team/keras#22021.
_LAB_ACTIVITY_L2 = 1e-4 * _A["batch_size"]
_RAW = "raw 0-255 pixels, as the lab feeds them (never divided by 255)"
_SATURATES = ": first-layer pre-activations reach hundreds, which saturates sigmoids"


@dataclass(frozen=True)
class Experiment:
    """One row of the labs' results table.

    Attributes
    ----------
    key : str
        The row's id in ``shared/spec/labs.md`` (A1, C4, E7, ...).
    lab, description : str
    params : dict
        ``MLPKerasClassifier`` parameters (of each member, for ensembles).
    published : float, tuple of two floats, or None
        The labs' figure; a (low, high) range where the lab gives one.
    data : {"mnist", "subset-raw", "mnist-raw", "cosine"}
        Full MNIST scaled to [0, 1]; the labs' 33% subset or all 60,000
        rows, raw 0-255 pixels (both tested on the 10,000 test images); or
        the synthetic cosine classes, unshuffled as the lab makes them.
    ensemble : int
        Number of networks in a soft ``VotingClassifier``; 0 for one network.
    rationale : str
        What the labs leave undefined and what was chosen, or what the data
        preparation does; printed in the page's notes.
    metric : str
    """

    key: str
    lab: str
    description: str
    params: dict[str, Any]
    published: float | tuple[float, float] | None
    data: str = "mnist"
    ensemble: int = 0
    rationale: str = ""
    metric: str = field(default="test accuracy")

    @property
    def published_text(self) -> str:
        if self.published is None:
            return "not published"
        if isinstance(self.published, tuple):
            return f"{self.published[0]:.2f}-{self.published[1]:.2f}"
        return f"{self.published:.4f}"


EXPERIMENTS: tuple[Experiment, ...] = (
    Experiment("A1", "perceptron vs MLP", "no hidden layer, softmax, SGD 0.1, 200 epochs",
               dict(_A, hidden_layer_sizes=(), epochs=200), 0.9257),
    Experiment("A2", "perceptron vs MLP", "2x128 ReLU, SGD 0.1, 20 epochs",
               dict(_A, hidden_layer_sizes=(128, 128), epochs=20), 0.9766),
    Experiment("A3", "perceptron vs MLP", "A2 + dropout 0.3",
               dict(_A, hidden_layer_sizes=(128, 128), epochs=20, dropout=0.3), 0.9771),
    Experiment("B1", "L1/L2", "A2 + kernel L1L2(1e-5, 1e-4), bias L1(1e-5), activity L2(1e-4) "
               "summed over the batch, as the lab's Keras did",
               dict(_A, hidden_layer_sizes=(128, 128), epochs=20, kernel_l1=1e-5, kernel_l2=1e-4,
                    bias_l1=1e-5, activity_l2=_LAB_ACTIVITY_L2), 0.9671,
               rationale="the activity L2 strength is the lab's 1e-4 times its batch size of "
                         "128 (activity_l2=0.0128): the lab ran (early 2025) on a Keras that "
                         "added the activity penalty summed over the batch's rows; Keras "
                         "divides it by the batch size since keras-team/keras#22021 (January "
                         "2026), and skmlp follows today's Keras, so activity_l2=1e-4 "
                         "penalises 128 times less than the lab did (five seeds scored "
                         "0.9765-0.9789 that way, with a training loss near 0.13 where the "
                         "lab's log shows 0.4-0.6)"),
    Experiment("C1", "tuning, 33% subset", "4x50 sigmoid, SGD 0.001, batch 256",
               dict(_SGD, activation="sigmoid", batch_size=256), 0.1135, data="subset-raw",
               rationale="vanishing gradients: " + _RAW + _SATURATES + "; 0.1135 is the share "
                         "of the most frequent digit (1) in the test set"),
    Experiment("C2", "tuning, 33% subset", "C1 with he_normal kernels, batch 32",
               dict(_SGD, activation="sigmoid", kernel_initializer="he_normal"), 0.4219,
               data="subset-raw", rationale=_RAW + _SATURATES),
    Experiment("C3", "tuning, 33% subset", "4x50 ReLU, SGD 0.001",
               dict(_SGD, activation="relu"), 0.9188, data="subset-raw", rationale=_RAW),
    Experiment("C4", "tuning, 33% subset", "4x50 ELU, Adam 0.001",
               dict(_ADAM, activation="elu"), 0.9516, data="subset-raw", rationale=_RAW),
    Experiment("C5", "tuning, 33% subset", "C4 + batch norm before each activation",
               dict(_ADAM, activation="elu", batch_normalization=True), 0.9643,
               data="subset-raw", rationale=_RAW),
    Experiment("C6", "tuning, 33% subset", "C4 + dropout 0.2 after each activation",
               dict(_ADAM, activation="elu", dropout=0.2), 0.9309, data="subset-raw",
               rationale=_RAW),
    Experiment("E1", "MLP notebook, full set", "4x50 sigmoid, SGD 0.001, batch 256",
               dict(_SGD, activation="sigmoid", batch_size=256), 0.1135, data="mnist-raw",
               rationale=_RAW + _SATURATES),
    Experiment("E2", "MLP notebook, full set", "E1 with he_normal kernels, batch 32",
               dict(_SGD, activation="sigmoid", kernel_initializer="he_normal"), 0.8625,
               data="mnist-raw", rationale=_RAW + _SATURATES),
    Experiment("E3", "MLP notebook, full set", "4x50 ReLU, SGD 0.001",
               dict(_SGD, activation="relu"), 0.9488, data="mnist-raw", rationale=_RAW),
    Experiment("E4", "MLP notebook, full set", "4x50 sigmoid, Adam 0.001",
               dict(_ADAM, activation="sigmoid"), 0.9465, data="mnist-raw", rationale=_RAW + _SATURATES),
    Experiment("E5", "MLP notebook, full set", "4x50 sigmoid, SGD 0.001 + batch norm",
               dict(_SGD, activation="sigmoid", batch_normalization=True), 0.9480,
               data="mnist-raw", rationale=_RAW + _SATURATES),
    Experiment("E6", "MLP notebook, full set", "4x50 sigmoid, SGD 0.001 + dropout 0.2",
               dict(_SGD, activation="sigmoid", dropout=0.2), 0.4227, data="mnist-raw",
               rationale=_RAW + _SATURATES),
    Experiment("E7", "MLP notebook, full set",
               "soft vote of three E1 networks (glorot, sigmoid, SGD 0.001), batch 32, no validation split",
               dict(_SGD, activation="sigmoid", validation_split=0.0), 0.9002, data="mnist-raw",
               ensemble=3,
               rationale="the lab fits its three KerasClassifier members with epochs=100 and "
                         "nothing else, so Keras' defaults apply: batch 32, no validation "
                         "split, glorot_uniform kernels; " + _RAW),
    Experiment("D1", "Keras intro", "1x128 ReLU, Adam, 10 epochs",
               dict(_D, hidden_layer_sizes=(128,), epochs=10), 0.9762),
    Experiment("D2", "Keras intro", "2x128 ReLU, Adam, 10 epochs",
               dict(_D, hidden_layer_sizes=(128, 128), epochs=10), 0.9766),
    Experiment("D3", "Keras intro", "10x128 ReLU, Adam, 20 epochs",
               dict(_D, hidden_layer_sizes=(128,) * 10, epochs=20), 0.9786),
    Experiment("D4", "Keras intro", "D3 + dropout 0.2 (an exercise)",
               dict(_D, hidden_layer_sizes=(128,) * 10, epochs=20, dropout=0.2), None,
               rationale="left as an exercise in the lab, so there is no figure to compare"),
    Experiment("S1", "synthetic", "logistic regression, Adam, 10 epochs",
               dict(_S, hidden_layer_sizes=()), (0.73, 0.79), data="cosine",
               metric="val accuracy",
               rationale="the lab stacks 1,000 class-0 points before 1,000 class-1 points and "
                         "never shuffles them, so validation_split=0.2 validates on class-1 "
                         "points only; it draws the points without a seed, so each seed here "
                         "draws new ones"),
    Experiment("S2", "synthetic", "one hidden layer of 2 ReLU units",
               dict(_S, hidden_layer_sizes=(2,)), (0.44, 0.67), data="cosine",
               metric="val accuracy", rationale="as S1: unshuffled, class-1 points validate"),
)  # fmt: skip


def get_experiment(key: str) -> Experiment:
    """The experiment with this key (case-insensitive)."""
    for experiment in EXPERIMENTS:
        if experiment.key.lower() == key.lower():
            return experiment
    raise KeyError(
        f"no lab experiment {key!r}; known: {', '.join(e.key for e in EXPERIMENTS)}"
    )


def make_estimator(experiment: Experiment, *, random_state: int = 0, **overrides):
    """The experiment's classifier (a soft VotingClassifier for ensembles).

    An ensemble's members get seeds ``3 * random_state + 1, + 2, + 3``, so
    that the members of different seeds never share one.
    """
    params = {**experiment.params, "random_state": random_state, **overrides}
    if not experiment.ensemble:
        return MLPKerasClassifier(**params)
    from .ensemble import VotingClassifier

    first = experiment.ensemble * random_state + 1
    members = [
        (f"net{i}", MLPKerasClassifier(**{**params, "random_state": first + i}))
        for i in range(experiment.ensemble)
    ]
    return VotingClassifier(members, voting="soft")


def prepare_data(experiment: Experiment, mnist, *, seed: int = 0, quick: bool = False):
    """``(X_train, y_train, X_test, y_test)`` as the experiment's lab prepares them.

    ``mnist`` is ``((X_train, y_train), (X_test, y_test))`` as the loaders
    return it (uint8 images); unused for the cosine data (then the test
    arrays are None: the metric is the validation accuracy). ``quick``
    keeps 2,000 training and 1,000 test rows.
    """
    if experiment.data == "cosine":
        X, y = make_cosine_classes(2000, shuffle=False, random_state=seed)
        return X, y, None, None
    (X_train, y_train), (X_test, y_test) = mnist
    scale = experiment.data == "mnist"
    X_train = to_features(X_train, scale=scale).astype(np.float32, copy=False)
    X_test = to_features(X_test, scale=scale).astype(np.float32, copy=False)
    if experiment.data == "subset-raw":
        X_train, y_train = SubsetSplitter(
            0.33, stratify=False, random_state=7
        ).fit_resample(X_train, y_train)
    if quick:
        X_train, y_train = X_train[:2000], y_train[:2000]
        X_test, y_test = X_test[:1000], y_test[:1000]
    return X_train, y_train, X_test, y_test


def _score(estimator, experiment: Experiment, X_test, y_test) -> float:
    if experiment.metric == "val accuracy":
        return float(estimator.history_["val_accuracy"][-1])
    return float(estimator.score(X_test, y_test))


def run_experiment(
    experiment: Experiment,
    mnist,
    *,
    seeds: Iterable[int] = (0, 1, 2),
    quick: bool = False,
    verbose: int = 0,
) -> list[dict]:
    """Train one experiment once per seed; ``{"seed", "accuracy", "seconds"}`` each.

    The seeds' networks train together where skmlp batches (the JAX
    backend); ``seconds`` is then each seed's share of the time.
    """
    seeds = list(seeds)
    overrides: dict[str, Any] = {"verbose": verbose}
    if quick:
        overrides["epochs"] = 1
    with warnings.catch_warnings():
        if experiment.data.endswith("-raw"):  # raw pixels are the lab's point
            warnings.filterwarnings("ignore", "training accuracy stayed at chance")
            warnings.filterwarnings("ignore", "training went wrong")
        return _run_seeds(experiment, mnist, seeds, quick, overrides)


def _run_seeds(experiment, mnist, seeds, quick, overrides) -> list[dict]:
    if experiment.data == "cosine" or experiment.ensemble:
        runs = []  # one data set per seed, or an ensemble per seed
        for seed in seeds:
            start = time.perf_counter()
            X, y, X_test, y_test = prepare_data(
                experiment, mnist, seed=seed, quick=quick
            )
            estimator = make_estimator(experiment, random_state=seed, **overrides)
            estimator.fit(X, y)
            runs.append(
                {
                    "seed": seed,
                    "accuracy": _score(estimator, experiment, X_test, y_test),
                    "seconds": time.perf_counter() - start,
                }
            )
        return runs
    start = time.perf_counter()
    X, y, X_test, y_test = prepare_data(experiment, mnist, quick=quick)
    estimators = [
        make_estimator(experiment, random_state=seed, **overrides) for seed in seeds
    ]
    fitted = fit_estimators(estimators, X, y, [{} for _ in estimators])
    seconds = (time.perf_counter() - start) / len(seeds)
    return [
        {
            "seed": seed,
            "accuracy": _score(estimator, experiment, X_test, y_test),
            "seconds": seconds,
        }
        for seed, estimator in zip(seeds, fitted, strict=True)
    ]


def run_experiments(
    mnist,
    keys: Iterable[str] | None = None,
    *,
    seeds: Iterable[int] = (0, 1, 2),
    quick: bool = False,
    progress=None,
    command: str = "skmlp labs",
) -> dict:
    """Run experiments (all by default); return the results as a JSON-able dict.

    ``{"command", "seeds", "quick", "backend", "machine", "skmlp", "rows":
    [{"key", "runs": [...]}]}``; ``render_page`` turns it into the labs page.
    ``progress``, if given, is called with each finished row; ``command`` is
    how the run was started, for the page.
    """
    from ._keras import keras

    seeds = list(seeds)
    chosen = EXPERIMENTS if keys is None else [get_experiment(k) for k in keys]
    results = {
        "command": command,
        "seeds": seeds,
        "quick": quick,
        "backend": keras.backend.backend(),
        "machine": _machine(),
        "skmlp": _version(),
        "rows": [],
    }
    for experiment in chosen:
        row = {
            "key": experiment.key,
            "runs": run_experiment(experiment, mnist, seeds=seeds, quick=quick),
        }
        results["rows"].append(row)
        if progress is not None:
            progress(row)
    return results


def _machine() -> str:
    import os
    import platform

    device = "CPU"
    try:
        import jax

        if jax.default_backend() != "cpu":
            device = jax.devices()[0].device_kind
    except ImportError:
        pass
    return f"{platform.machine()}, {os.cpu_count()} cores, {device}"


def _version() -> str:
    from . import __version__

    return __version__


def summarize(experiment: Experiment, runs: list[dict]) -> dict:
    """Median, range, and how the published figure compares with them.

    ``verdict``: "in range" (the published figure within the seeds'
    min-max, or a published range overlapping it), "near median" (within 2
    points of the median), "differs", or "-" (nothing published).
    """
    scores = np.array([r["accuracy"] for r in runs])
    low, high, median = (
        float(scores.min()),
        float(scores.max()),
        float(np.median(scores)),
    )
    published = experiment.published
    if published is None:
        verdict = "-"
    else:
        p_low, p_high = published if isinstance(published, tuple) else (published,) * 2
        if p_low <= high + 5e-5 and p_high >= low - 5e-5:
            verdict = "in range"
        elif min(abs(median - p_low), abs(median - p_high)) <= 0.02:
            verdict = "near median"
        else:
            verdict = "differs"
    return {
        "median": median,
        "low": low,
        "high": high,
        "verdict": verdict,
        "seconds": float(np.mean([r["seconds"] for r in runs])),
    }


def _note(experiment: Experiment, summary: dict) -> str:
    """What the data says about this row, then the experiment's rationale."""
    spread = summary["high"] - summary["low"]
    published = experiment.published
    facts = []
    if summary["verdict"] == "in range":
        facts.append(
            f"published figure within the seeds' range "
            f"({summary['low']:.4f}-{summary['high']:.4f})"
            + (": a seed-dependent configuration" if spread > 0.05 else "")
        )
    elif summary["verdict"] == "near median":
        facts.append(
            f"published figure within 2 points of the median ({summary['median']:.4f})"
        )
    elif summary["verdict"] == "differs":
        target = published if not isinstance(published, tuple) else sum(published) / 2
        facts.append(
            f"published figure {100 * (target - summary['median']):+.1f} points from "
            f"the median, outside the seeds' range "
            f"({summary['low']:.4f}-{summary['high']:.4f})"
        )
    if experiment.rationale:
        facts.append(experiment.rationale)
    return "; ".join(facts)


def render_page(results: dict) -> str:
    """The labs page (Markdown) from ``run_experiments``' results.

    A function of the results alone, so that the stored results rewrite the
    page exactly (``skmlp labs --from-results``).
    """
    command = results.get("command", "skmlp labs")
    by_key = {row["key"]: row["runs"] for row in results["rows"]}
    chosen = [e for e in EXPERIMENTS if e.key in by_key]
    n_seeds = len(results["seeds"])
    lines = [
        "# The labs, re-run with skmlp",
        "",
        f"Written by `{command}` from the results in the JSON file beside this page "
        f"(skmlp {results['skmlp']}, Keras backend {results['backend']}, "
        f"{results['machine']}); do not edit it by hand. Every row was trained with "
        f"{n_seeds} seeds ({', '.join(map(str, results['seeds']))})"
        + (
            " in quick mode (1 epoch on 2,000 rows): a smoke test, not a reproduction"
            if results["quick"]
            else ""
        )
        + ". The published figures are single runs on the labs' authors' machines; "
        "where a configuration is sensitive to the seed, one run can land anywhere in "
        "the seeds' range, so a row counts as reproduced when the published figure "
        "lies within the seeds' range or within 2 points of their median. Seconds "
        "are wall time per seed on that machine (a row's seeds train together "
        "where skmlp batches), whatever else it was running. "
        "Configurations follow the labs' own code (`shared/spec/labs.md`, section 2): "
        "groups C and E train on raw 0-255 pixels, A, B and D on pixels scaled to "
        "[0, 1].",
        "",
        "| # | lab | configuration | metric | published | skmlp median | seeds' range "
        "| verdict | s/seed |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    notes, counts = [], {"in range": 0, "near median": 0, "differs": 0}
    for experiment in chosen:
        summary = summarize(experiment, by_key[experiment.key])
        counts[summary["verdict"]] = counts.get(summary["verdict"], 0) + 1
        lines.append(
            f"| {experiment.key} | {experiment.lab} | {experiment.description} | "
            f"{experiment.metric} | {experiment.published_text} | "
            f"{summary['median']:.4f} | {summary['low']:.4f}-{summary['high']:.4f} | "
            f"{summary['verdict']} | {summary['seconds']:.1f} |"
        )
        note = _note(experiment, summary)
        if note:
            notes.append(f"- **{experiment.key}**: {note}.")
    published = sum(counts.values()) - counts.get("-", 0)
    lines += [
        "",
        f"**Summary**: of {published} rows with a published figure, "
        f"{counts['in range']} have it within the seeds' range, "
        f"{counts['near median']} within 2 points of the median, and "
        f"{counts['differs']} differ (see their notes).",
        "",
        "Notes:",
        "",
        *notes,
        "",
        "Each seed's accuracy is in the JSON file. To regenerate this page: "
        "`skmlp labs --markdown docs/labs.md` (add `--seeds N`; `KERAS_BACKEND=jax` "
        "trains the seeds of a row together). To rewrite it from the stored "
        "results only: `skmlp labs --from-results docs/labs.json --markdown "
        "docs/labs.md`.",
    ]
    return "\n".join(lines) + "\n"
