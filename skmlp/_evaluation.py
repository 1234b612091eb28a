"""The fits of a search, a cross-validation or an ensemble, as one plan.

skmlp's ``GridSearchCV``, ``RandomizedSearchCV``, ``cross_validate`` and
``VotingClassifier`` list every fit they make (each candidate on each split;
each ensemble member), known by its place in that list, never by its data:

1. each split's steps before the network (a ``Pipeline``'s scaler or PCA)
   are fitted once, for every candidate that shares them;
2. networks that may share a compiled program form a group, and each group
   is one joblib task: a worker trains it together
   (``_batch.train_members``) and scores its fits there, on its device;
3. fits that do not batch (other estimators, networks too large to gain on
   a CPU, groups too small) are tasks of their own, run as scikit-learn's
   loop runs them (its ``_fit_and_score``);
4. all tasks go to one ``joblib.Parallel``, so ``n_jobs`` and any joblib
   backend (loky, threading, Dask, Ray) spread them; where JAX sees several
   devices, groups are placed on them in turn and, in one process, train
   concurrently.

Results come back in scikit-learn's format (``_sklearn_compat``), in its
(candidate, split) order, so that ``cv_results_``, the best candidate and
the refit are scikit-learn's own.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
import traceback
from collections import defaultdict
from typing import Any

import joblib
import numpy as np
import sklearn
from sklearn.base import clone, is_classifier
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing
from sklearn.utils.metadata_routing import process_routing

from . import _batch
from . import _sklearn_compat as compat
from ._engine import on_accelerator
from ._sklearn_callbacks import fit_under


def final_step(estimator) -> tuple[Any, Any]:
    """The skmlp estimator a fit trains and the steps before it, or (None, None).

    (None, None) where the estimator is no skmlp network or ``Pipeline``
    ending in one, or where the steps before it cannot ``fit_transform``
    (imbalanced-learn's samplers: they resample only inside the pipeline).
    """
    from ._base import _BaseMLP

    if isinstance(estimator, Pipeline) and len(estimator.steps) > 0:
        final = estimator.steps[-1][1]
        pre = estimator[:-1] if len(estimator.steps) > 1 else None
    else:
        final, pre = estimator, None
    if pre is not None and not hasattr(pre, "fit_transform"):
        return None, None
    return (final, pre) if isinstance(final, _BaseMLP) else (None, None)


def weight_key(estimator) -> str:
    """The fit parameter that carries the network's sample weights.

    (Without metadata routing; with it, every name is the network's own.)
    """
    if isinstance(estimator, Pipeline) and not _routing():
        return f"{estimator.steps[-1][0]}__sample_weight"
    return "sample_weight"


# The fit parameters a network trained batched takes.
NETWORK_PARAMS = frozenset({"sample_weight", "X_val", "y_val", "sample_weight_val"})


def _routing() -> bool:
    return bool(sklearn.get_config().get("enable_metadata_routing"))


def network_params(estimator, params: dict, transform_val) -> dict | None:
    """The fit parameters the network of ``estimator`` gets from ``params``.

    ``params``: one split's fit parameters, as ``estimator.fit`` takes them
    (a ``Pipeline``'s prefixed ``step__name``, or its routed names under
    metadata routing, where a ``transform_input=["X_val"]`` pipeline passes
    ``X_val`` through its fitted steps: ``transform_val``). None where the plan
    cannot reproduce what the estimator would do with them (the steps before
    the network take some, or the network takes others): that fit then runs
    as scikit-learn runs it.
    """
    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        network = dict(params)
    elif _routing():
        try:
            routed = process_routing(estimator, "fit", **params)
        except Exception:  # the fit itself reports it, as scikit-learn's would
            return None
        for name, _ in estimator.steps[:-1]:
            if any(routed[name].get(method) for method in ("fit", "fit_transform")):
                return None
        network = dict(routed[estimator.steps[-1][0]].fit)
        if "X_val" in network and "X_val" in (estimator.transform_input or ()):
            network["X_val"] = transform_val(network["X_val"])
    else:
        prefix = estimator.steps[-1][0] + "__"
        if estimator.transform_input or any(not k.startswith(prefix) for k in params):
            return None
        network = {k[len(prefix) :]: v for k, v in params.items()}
    if set(network) - NETWORK_PARAMS or ("X_val" in network) != ("y_val" in network):
        return None
    if "sample_weight_val" in network and "X_val" not in network:
        return None
    return network


@dataclasses.dataclass
class Scoring:
    """How each fit is scored, as scikit-learn's ``_fit_and_score`` is told."""

    scorer: Any
    score_params: dict
    return_train_score: bool = False
    return_n_test_samples: bool = True
    return_estimator: bool = False
    error_score: Any = np.nan
    verbose: int = 0


@dataclasses.dataclass
class _Fit:
    """One (candidate, split) fit: the candidate's unfitted estimator."""

    index: int
    candidate: int
    split: int
    parameters: dict | None
    estimator: Any
    context: Any = None  # scikit-learn's callback task of this fit, or None


@dataclasses.dataclass
class _Split:
    """One split's rows, as every fit on it sees them."""

    train: np.ndarray
    test: np.ndarray
    X_train: Any
    y_train: Any
    X_test: Any
    y_test: Any
    fit_params: dict
    score_train: dict
    score_test: dict


@dataclasses.dataclass
class _Work:
    """A fit in a group task: its network, the steps before it, its split."""

    index: int
    member: _batch.Member
    estimator: Any  # the candidate's whole estimator (Pipeline or network)
    pre: Any  # the fitted steps before the network (a Pipeline) or None
    pre_seconds: float
    split: _Split
    context: Any = None  # scikit-learn's callback task of this fit, or None


def evaluate(
    estimator,
    candidates: list[dict | None],
    splits: list[tuple],
    X,
    y,
    *,
    fit_params: dict,
    scoring: Scoring,
    batch: bool,
    n_jobs=None,
    pre_dispatch="2*n_jobs",
    max_batch=None,
    contexts: list | None = None,
    caller=None,
) -> list[dict]:
    """Fit and score every (candidate, split); scikit-learn's ``out`` list.

    ``candidates``: parameter dicts (None: the estimator as it is);
    ``splits``: (train, test) index pairs; ``fit_params`` as the estimator's
    ``fit`` takes them (split by rows, as scikit-learn splits them);
    ``batch``: whether the networks may train together at all;
    ``contexts``: scikit-learn's callback task of each fit, in (candidate,
    split) order, under the search ``caller`` (None: no callbacks).
    """
    contexts = contexts or [None] * (len(candidates) * len(splits))
    fits = []
    for c, parameters in enumerate(candidates):
        for s in range(len(splits)):
            candidate = clone(estimator)
            if parameters is not None:
                candidate.set_params(**clone(parameters, safe=False))
            fits.append(
                _Fit(len(fits), c, s, parameters, candidate, contexts[len(fits)])
            )
    groups, singles = (
        _groups(fits, X, y, splits, fit_params, scoring) if batch else ({}, fits)
    )
    devices, group_calls = _group_calls(
        _run_group, groups, n_jobs, scoring, max_batch, caller
    )
    n_candidates, n_splits = len(candidates), len(splits)
    single_calls = [
        joblib.delayed(_run_single)(
            fit,
            X,
            y,
            splits[fit.split],
            fit_params,
            scoring,
            (fit.split, n_splits),
            (fit.candidate, n_candidates),
            caller,
        )
        for fit in singles
    ]
    if joblib.effective_n_jobs(n_jobs) == 1 and devices > 1 and len(group_calls) > 1:
        # One process, several devices: a thread per device, so that the
        # groups placed on them train at the same time.
        with joblib.parallel_config(backend="threading"):
            done = joblib.Parallel(n_jobs=devices)(group_calls)
        done += joblib.Parallel(n_jobs=None)(single_calls)
    else:
        parallel = joblib.Parallel(n_jobs=n_jobs, pre_dispatch=pre_dispatch)
        done = parallel([*group_calls, *single_calls])
    out: list = [None] * len(fits)
    for results in done:
        for index, result in results:
            out[index] = result
    return out


def _groups(fits, X, y, splits, fit_params, scoring):
    """The fits whose networks may train together, by group; the others."""
    groups: dict[Any, list[_Work]] = defaultdict(list)
    singles = []
    prepared: dict[int, _Split] = {}
    transformed: dict[tuple, Any] = {}
    transformed_val: dict[tuple, Any] = {}
    for fit in fits:
        final, pre = final_step(fit.estimator)
        if final is None:
            singles.append(fit)
            continue
        if fit.split not in prepared:
            prepared[fit.split] = _split_data(
                X, y, splits[fit.split], fit_params, scoring
            )
        split = prepared[fit.split]
        tag = _preprocessing_tag(fit.estimator)
        key = (fit.split, tag)
        if key not in transformed:
            transformed[key] = _transform(pre, split)
        fitted_pre, X_train, seconds = transformed[key]
        group = _batch.signature(final)
        if (
            group is None
            or isinstance(fitted_pre, BaseException)
            or not _batch.pays(
                final, X_train.shape[1], _n_outputs(final, split.y_train)
            )
        ):
            singles.append(fit)  # its own pipeline fit reports any error
            continue

        def transform_val(X_val, key=key, fitted_pre=fitted_pre):
            # Once per split and validation set, for every candidate.
            if (key, id(X_val)) not in transformed_val:
                transformed_val[key, id(X_val)] = fitted_pre.transform(X_val)
            return transformed_val[key, id(X_val)]

        params = network_params(fit.estimator, split.fit_params, transform_val)
        if params is None:
            singles.append(fit)
            continue
        validation = None
        if "X_val" in params:
            validation = (
                params["X_val"],
                params["y_val"],
                params.get("sample_weight_val"),
            )
        member = _batch.Member(
            clone(final),
            X_train,
            split.y_train,
            params.get("sample_weight"),
            data_id=key,
            validation=validation,
        )
        work = _Work(
            fit.index, member, fit.estimator, fitted_pre, seconds, split, fit.context
        )
        # Steps before the network may differ within a group: only the
        # network's input width decides its program.
        groups[group, X_train.shape[1]].append(work)
    for key, works in list(groups.items()):
        if len(works) < _batch.CPU_BATCH_MIN_MEMBERS and not on_accelerator():
            del groups[key]  # too few to gain on a CPU: one by one
            singles += [fits[work.index] for work in works]
    singles.sort(key=lambda fit: fit.index)
    return groups, singles


def _split_data(X, y, split, fit_params, scoring) -> _Split:
    train, test = split
    y_train = None if y is None else _safe_indexing(y, train)
    y_test = None if y is None else _safe_indexing(y, test)
    return _Split(
        train=train,
        test=test,
        X_train=_safe_indexing(X, train),
        y_train=y_train,
        X_test=_safe_indexing(X, test),
        y_test=y_test,
        fit_params=compat.method_params(X, fit_params, indices=train),
        score_train=compat.method_params(X, scoring.score_params, indices=train),
        score_test=compat.method_params(X, scoring.score_params, indices=test),
    )


def _transform(pre, split: _Split):
    """The split's training rows after the steps before the network, fitted once."""
    if pre is None:
        return None, split.X_train, 0.0
    start = time.perf_counter()
    fitted = clone(pre)
    try:
        X_train = fitted.fit_transform(split.X_train, split.y_train)
    except Exception as error:
        return error, None, 0.0
    return fitted, X_train, time.perf_counter() - start


def _n_outputs(final, y) -> int:
    if y is None:
        return 1
    if np.ndim(y) == 2:
        return np.shape(y)[1]
    return len(np.unique(y)) if is_classifier(final) else 1


def _preprocessing_tag(estimator) -> str | None:
    """Equal for estimators whose steps before the network are the same."""
    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None
    try:
        return joblib.hash(estimator[:-1].get_params(deep=True))
    except Exception:
        return repr(estimator[:-1])


def _device_count() -> int:
    """How many devices JAX sees (1 on other backends)."""
    if not _batch.available():
        return 1
    import jax

    return len(jax.devices())


def _group_calls(task, groups: dict, n_jobs, *args) -> tuple[int, list]:
    """The devices JAX sees, and joblib's calls of ``task(work, device, *args)``.

    One call per task of ``_split_groups``, placed on the devices in turn
    (``device`` None where there is one).
    """
    devices = _device_count()
    tasks = _split_groups(list(groups.values()), n_jobs, devices)
    return devices, [
        joblib.delayed(task)(work, i if devices > 1 else None, *args)
        for i, work in enumerate(tasks)
    ]


def _split_groups(groups: list[list], n_jobs, devices: int) -> list[list]:
    """Groups as tasks: the largest halved until every worker or device has one.

    Halves keep at least ``CPU_BATCH_MIN_MEMBERS`` networks on a CPU (fewer
    would train no faster together than apart).
    """
    # n_jobs=None means joblib's context (parallel_config, a Dask backend).
    workers = max(devices, joblib.effective_n_jobs(n_jobs))
    smallest = 1 if on_accelerator() else _batch.CPU_BATCH_MIN_MEMBERS
    tasks = sorted(groups, key=len, reverse=True)
    while len(tasks) < workers and tasks and len(tasks[0]) >= 2 * smallest:
        largest = tasks.pop(0)
        tasks += [largest[::2], largest[1::2]]
        tasks.sort(key=len, reverse=True)
    return tasks


@contextlib.contextmanager
def _on_device(index: int | None):
    """JAX work in this block goes to device ``index`` (of those this process sees).

    None: wherever it goes by default (one device, or no placement).
    """
    if index is None or not _batch.available():
        yield
        return
    import jax

    devices = jax.devices()
    if len(devices) < 2:
        yield
        return
    with jax.default_device(devices[index % len(devices)]):
        yield


def _run_group(
    work: list[_Work], device: int | None, scoring: Scoring, max_batch, caller
) -> list[tuple[int, dict]]:
    """A group task: train its networks together, score each fit."""
    with _on_device(device):
        trained = _batch.train_members(
            [w.member for w in work],
            max_batch=max_batch,
            verbose=scoring.verbose,
            contexts=[w.context for w in work],
            caller=caller,
        )
        return [
            (w.index, _result(w, fitted, seconds, scoring))
            for w, (fitted, seconds) in zip(work, trained, strict=True)
        ]


def _assemble(work: _Work, network):
    """The fitted estimator of a fit: its fitted steps before the network, and it."""
    if work.pre is None:
        return network
    steps = [*work.pre.steps, (work.estimator.steps[-1][0], network)]
    return clone(work.estimator).set_params(steps=steps)


def _result(work: _Work, fitted, seconds: float, scoring: Scoring) -> dict:
    """What scikit-learn's ``_fit_and_score`` returns for this fit."""
    split = work.split
    result: dict[str, Any] = {}
    score_time = 0.0
    estimator = work.estimator
    if isinstance(fitted, BaseException):
        if scoring.error_score == "raise":
            raise fitted
        if compat.is_multimetric(scoring.scorer):
            names = compat.scorer_names(scoring.scorer)
            test_scores = dict.fromkeys(names, scoring.error_score)
            train_scores = dict(test_scores)
        else:
            test_scores = train_scores = scoring.error_score
        result["fit_error"] = "".join(traceback.format_exception(fitted))
    else:
        result["fit_error"] = None
        estimator = _assemble(work, fitted)
        start = time.perf_counter()
        test_scores = compat.score(
            estimator,
            split.X_test,
            split.y_test,
            scoring.scorer,
            split.score_test,
            scoring.error_score,
        )
        score_time = time.perf_counter() - start
        if scoring.return_train_score:
            train_scores = compat.score(
                estimator,
                split.X_train,
                split.y_train,
                scoring.scorer,
                split.score_train,
                scoring.error_score,
            )
    result["test_scores"] = test_scores
    if scoring.return_train_score:
        result["train_scores"] = train_scores
    if scoring.return_n_test_samples:
        result["n_test_samples"] = len(split.test)
    result["fit_time"] = seconds + work.pre_seconds
    result["score_time"] = score_time
    if scoring.return_estimator:
        result["estimator"] = estimator
    return result


def _run_single(
    fit: _Fit,
    X,
    y,
    split,
    fit_params,
    scoring: Scoring,
    split_progress,
    candidate_progress,
    caller,
) -> list[tuple[int, dict]]:
    """A fit that trains alone: scikit-learn's ``_fit_and_score`` as its loop calls it."""
    train, test = split
    result = compat.fit_and_score(
        fit.estimator,
        X,
        y,
        scorer=scoring.scorer,
        train=train,
        test=test,
        verbose=scoring.verbose,
        parameters=fit.parameters,
        fit_params=fit_params,
        score_params=scoring.score_params,
        return_train_score=scoring.return_train_score,
        return_n_test_samples=scoring.return_n_test_samples,
        return_times=True,
        return_estimator=scoring.return_estimator,
        split_progress=split_progress,
        candidate_progress=candidate_progress,
        error_score=scoring.error_score,
        caller=caller,
        callback_ctx=fit.context,
    )
    return [(fit.index, result)]


def fit_estimators(
    estimators: list,
    X,
    y,
    fit_params: list[dict],
    *,
    n_jobs=None,
    max_batch=None,
    verbose: int = 0,
    fit_one=None,
    contexts: list | None = None,
    caller=None,
) -> list:
    """Fit each estimator on all of ``X``, ``y``; networks of one structure together.

    An ensemble's members: ``fit_params[i]`` are the ``i``-th estimator's
    fit parameters. Returns the fitted estimators, in order (the given
    objects where they were fitted in this process). ``fit_one(i, estimator,
    X, y, params)`` fits one that trains alone (default: its ``fit``).
    ``contexts``: each member's scikit-learn callback task under the
    ensemble ``caller`` (None: no callbacks).
    """
    fit_one = fit_one or _fit_one
    contexts = contexts or [None] * len(estimators)
    works: dict[Any, list] = defaultdict(list)
    singles = []
    split = _Split(
        train=np.arange(0),
        test=np.arange(0),
        X_train=X,
        y_train=y,
        X_test=None,
        y_test=None,
        fit_params={},
        score_train={},
        score_test={},
    )
    if _batch.available():
        for index, (estimator, params) in enumerate(
            zip(estimators, fit_params, strict=True)
        ):
            final, pre = final_step(estimator)
            if (
                final is None
                or set(params) - {"sample_weight"}
                or (pre is not None and params)
            ):
                singles.append(index)
                continue
            fitted_pre, data, seconds = _transform(pre, split)
            group = _batch.signature(final)
            if (
                group is None
                or isinstance(fitted_pre, BaseException)
                or not _batch.pays(final, data.shape[1], _n_outputs(final, y))
            ):
                singles.append(index)
                continue
            member = _batch.Member(
                final,
                data,
                y,
                params.get("sample_weight"),
                data_id="X" if pre is None else ("pre", index),
            )
            works[group].append(
                _Work(
                    index,
                    member,
                    estimator,
                    fitted_pre,
                    seconds,
                    split,
                    contexts[index],
                )
            )
        for key, group in list(works.items()):
            if len(group) < 2 or (
                len(group) < _batch.CPU_BATCH_MIN_MEMBERS and not on_accelerator()
            ):
                singles += [work.index for work in works.pop(key)]
    else:
        singles = list(range(len(estimators)))
    _, calls = _group_calls(_fit_group, works, n_jobs, max_batch, verbose, caller)
    calls += [
        joblib.delayed(_fit_single)(
            fit_one, i, estimators[i], X, y, fit_params[i], contexts[i], caller
        )
        for i in sorted(singles)
    ]
    done = joblib.Parallel(n_jobs=n_jobs)(calls)
    fitted: list = [None] * len(estimators)
    for results in done:
        for index, estimator in results:
            fitted[index] = estimator
    return fitted


def _fit_one(index, estimator, X, y, params):
    return estimator.fit(X, y, **params)


def _fit_single(
    fit_one, index, estimator, X, y, params, context, caller
) -> list[tuple[int, Any]]:
    fitted = fit_under(
        context,
        caller=caller,
        estimator=estimator,
        X=X,
        y=y,
        fit=lambda: fit_one(index, estimator, X, y, params),
    )
    return [(index, fitted)]


def _fit_group(
    work: list[_Work], device: int | None, max_batch, verbose: int, caller
) -> list:
    """An ensemble's group task: train the networks together, raise a failure."""
    with _on_device(device):
        trained = _batch.train_members(
            [w.member for w in work],
            max_batch=max_batch,
            verbose=verbose,
            contexts=[w.context for w in work],
            caller=caller,
        )
    results = []
    for w, (fitted, _) in zip(work, trained, strict=True):
        if isinstance(fitted, BaseException):
            raise fitted
        results.append((w.index, _assemble_in_place(w, fitted)))
    return results


def _assemble_in_place(work: _Work, network):
    """The member itself, its steps before the network fitted (as its ``fit`` would)."""
    if work.pre is None:
        return network
    steps = [*work.pre.steps, (work.estimator.steps[-1][0], network)]
    return work.estimator.set_params(steps=steps)
