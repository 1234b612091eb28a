"""Searches and cross-validation that train skmlp networks together.

``GridSearchCV``, ``RandomizedSearchCV``, ``cross_validate`` and
``cross_val_score`` are scikit-learn's, with one difference: on the JAX
backend, the (candidate, fold) fits of an skmlp estimator, or of a
``Pipeline`` ending in one, that share a network structure are trained
together as one compiled program before scikit-learn's own loop runs and
scores them (see ``skmlp._batch``). Results have scikit-learn's structure
and meaning; anything that cannot be batched is fitted by scikit-learn as
usual. The user guide's "Many networks at once" says when it batches.
"""

from __future__ import annotations

import joblib
import numpy as np
import sklearn
from sklearn import model_selection as _sk
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.pipeline import Pipeline
from sklearn.utils import _safe_indexing

from . import _batch
from ._sklearn_callbacks import search_candidates, watched

__all__ = ["GridSearchCV", "RandomizedSearchCV", "cross_validate", "cross_val_score"]


def _final_step(estimator):
    """The skmlp estimator a fit trains, and the steps before it (or None)."""
    from ._base import _BaseMLP

    if isinstance(estimator, Pipeline) and len(estimator.steps) > 0:
        final = estimator.steps[-1][1]
        pre = estimator[:-1] if len(estimator.steps) > 1 else None
    else:
        final, pre = estimator, None
    if pre is not None and not hasattr(pre, "fit_transform"):
        return None, None  # imbalanced-learn's samplers: fitted in the pipeline
    return (final, pre) if isinstance(final, _BaseMLP) else (None, None)


def _split_members(
    estimator, X, y, splits, params, transformed: dict
) -> list[_batch.Member]:
    """One member per split: ``estimator`` (params set) fitted on its train rows.

    ``transformed`` keeps each split's data after the steps before the
    network, for candidates that share those steps.
    """
    final, pre = _final_step(estimator)
    if final is None:
        return []
    tag = _preprocessing_tag(estimator)
    sample_weight = params.get("sample_weight")
    if isinstance(estimator, Pipeline):
        sample_weight = params.get(f"{estimator.steps[-1][0]}__sample_weight")
    members = []
    for index, (train, _) in enumerate(splits):
        y_train = None if y is None else _safe_indexing(y, train)
        if (index, tag) not in transformed:
            X_train = _safe_indexing(X, train)
            if pre is not None:
                X_train = clone(pre).fit_transform(X_train, y_train)
            transformed[index, tag] = X_train
        X_train = transformed[index, tag]
        weights = (
            None if sample_weight is None else _safe_indexing(sample_weight, train)
        )
        members.append(
            _batch.Member(clone(final), X_train, y_train, weights, data_id=(index, tag))
        )
    return members


def _batchable_params(estimator, params) -> bool:
    """Whether the fit parameters are ones the batched path reproduces."""
    if sklearn.get_config().get("enable_metadata_routing"):
        return False
    allowed = {"groups", "sample_weight"}
    if isinstance(estimator, Pipeline):
        allowed = {"groups", f"{estimator.steps[-1][0]}__sample_weight"}
    return set(params) <= allowed


class _BatchedSearch:
    """What GridSearchCV and RandomizedSearchCV add to scikit-learn's."""

    def _candidate_list(self) -> list[dict]:
        raise NotImplementedError

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        # The candidates drawn once per fit, so that the batched fits and
        # scikit-learn's loop see the same ones (RandomizedSearchCV draws).
        # scikit-learn >= 1.9 passes its callbacks' context (None before).
        search_candidates(self, evaluate_candidates, self._candidates, callback_ctx)

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters (see scikit-learn's ``fit``).

        On the JAX backend, the networks of all (candidate, fold) fits that
        share a structure are trained together first; the rest as usual.
        """
        self._candidates = self._candidate_list()
        try:
            store, seconds = self._batched_fits(X, y, params)
            if store is None or not store.fits:  # nothing batched: n_jobs as given
                return super().fit(X, y, **params)
            with _batch.serving(store, self):
                super().fit(X, y, **params)
            self._add_fit_seconds(seconds)
            return self
        finally:
            del self._candidates

    def _batched_fits(self, X, y, params):
        if not (_batch.available() and _batchable_params(self.estimator, params)):
            return None, None
        if watched(self) or watched(self.estimator):
            # scikit-learn's callbacks follow each fit's epochs: its own loop
            # trains them one by one (batched networks report no epochs).
            return None, None
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        groups = params.get("groups")
        splits = list(cv.split(X, y, groups))
        fit_params = {k: v for k, v in params.items() if k != "groups"}
        members, transformed = [], {}
        self._member_keys = {}
        fits = splits
        if self.refit is not False and _batch.on_accelerator():
            # Each candidate's refit on all rows trains in the same batch: on
            # a GPU that costs less than compiling a program for the one refit.
            n = X.shape[0] if hasattr(X, "shape") else len(X)
            fits = [*splits, (np.arange(n), None)]
        for index, candidate in enumerate(self._candidates):
            estimator = clone(self.estimator).set_params(**clone(candidate, safe=False))
            found = _split_members(estimator, X, y, fits, fit_params, transformed)
            members += found
            self._member_keys[index] = found[: len(splits)]
        if not members:
            return None, None
        store, seconds = _batch.fit_members(
            members, n_jobs=self.n_jobs, max_batch=self.max_batch, verbose=self.verbose
        )
        return store, seconds

    def _add_fit_seconds(self, seconds):
        """Put each batched fit's share of its batch's time into ``cv_results_``."""
        results = self.cv_results_
        for index, members in self._member_keys.items():
            spent = [seconds[m.key][0] if m.key in seconds else 0.0 for m in members]
            if not any(spent):
                continue
            n = len(spent)
            # scikit-learn timed the store lookups (and preprocessing) only.
            base = results["mean_fit_time"][index]
            times = np.asarray(spent) + base
            results["mean_fit_time"][index] = times.mean() if n else base
            results["std_fit_time"][index] = times.std() if n else 0.0
        del self._member_keys


def _preprocessing_tag(estimator) -> str | None:
    """Equal for estimators whose steps before the network are the same."""
    if not isinstance(estimator, Pipeline) or len(estimator.steps) < 2:
        return None
    try:
        return joblib.hash(estimator[:-1].get_params(deep=True))
    except Exception:
        return repr(estimator[:-1])


_SEARCH_DOC = """

    skmlp's version (see ``skmlp.model_selection``): on the JAX backend the
    (candidate, fold) fits of an skmlp network that share a structure train
    together as one compiled program; results are scikit-learn's own.
    Parameters, attributes and methods are scikit-learn's, plus:

    max_batch : int, default=None
        At most this many networks trained together (None: as many as the
        device's or host's memory allows).
"""


class GridSearchCV(_BatchedSearch, _sk.GridSearchCV):
    __doc__ = (_sk.GridSearchCV.__doc__ or "").split("\n")[0] + _SEARCH_DOC

    def __init__(
        self,
        estimator,
        param_grid,
        *,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        error_score=np.nan,
        return_train_score=False,
        max_batch=None,
    ):
        super().__init__(
            estimator,
            param_grid,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.max_batch = max_batch

    def _candidate_list(self) -> list[dict]:
        return list(_sk.ParameterGrid(self.param_grid))


class RandomizedSearchCV(_BatchedSearch, _sk.RandomizedSearchCV):
    __doc__ = (_sk.RandomizedSearchCV.__doc__ or "").split("\n")[0] + _SEARCH_DOC

    def __init__(
        self,
        estimator,
        param_distributions,
        *,
        n_iter=10,
        scoring=None,
        n_jobs=None,
        refit=True,
        cv=None,
        verbose=0,
        pre_dispatch="2*n_jobs",
        random_state=None,
        error_score=np.nan,
        return_train_score=False,
        max_batch=None,
    ):
        super().__init__(
            estimator,
            param_distributions,
            n_iter=n_iter,
            scoring=scoring,
            n_jobs=n_jobs,
            refit=refit,
            cv=cv,
            verbose=verbose,
            pre_dispatch=pre_dispatch,
            random_state=random_state,
            error_score=error_score,
            return_train_score=return_train_score,
        )
        self.max_batch = max_batch

    def _candidate_list(self) -> list[dict]:
        return list(
            _sk.ParameterSampler(
                self.param_distributions, self.n_iter, random_state=self.random_state
            )
        )


def cross_validate(
    estimator,
    X,
    y=None,
    *,
    groups=None,
    scoring=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    params=None,
    pre_dispatch="2*n_jobs",
    return_train_score=False,
    return_estimator=False,
    return_indices=False,
    error_score=np.nan,
    max_batch=None,
) -> dict:
    """scikit-learn's ``cross_validate``, with the folds' networks trained together.

    Same arguments and result as ``sklearn.model_selection.cross_validate``;
    on the JAX backend the folds of an skmlp estimator (or a ``Pipeline``
    ending in one) train as one batched program first. ``max_batch`` caps
    how many networks train together. ``fit_time`` holds each fold's share
    of its batch's time.
    """
    params = dict(params or {})
    arguments = dict(
        groups=groups,
        scoring=scoring,
        cv=cv,
        verbose=verbose,
        params=params or None,
        pre_dispatch=pre_dispatch,
        return_train_score=return_train_score,
        return_estimator=return_estimator,
        return_indices=return_indices,
        error_score=error_score,
    )
    if not (_batch.available() and _batchable_params(estimator, params)):
        return _sk.cross_validate(estimator, X, y, n_jobs=n_jobs, **arguments)
    splits = list(
        check_cv(cv, y, classifier=is_classifier(estimator)).split(X, y, groups)
    )
    members = _split_members(clone(estimator), X, y, splits, params, {})
    if not members:
        return _sk.cross_validate(estimator, X, y, n_jobs=n_jobs, **arguments)
    store, seconds = _batch.fit_members(
        members, n_jobs=n_jobs, max_batch=max_batch, verbose=verbose
    )
    arguments["cv"] = splits  # the very splits the members were trained on
    if not store.fits:  # nothing batched: scikit-learn's loop, n_jobs as given
        return _sk.cross_validate(estimator, X, y, n_jobs=n_jobs, **arguments)
    with _batch.serving(store):
        results = _sk.cross_validate(estimator, X, y, n_jobs=None, **arguments)
    results["fit_time"] = results["fit_time"] + np.array(
        [seconds[m.key][0] if m.key in seconds else 0.0 for m in members]
    )
    return results


def cross_val_score(
    estimator,
    X,
    y=None,
    *,
    groups=None,
    scoring=None,
    cv=None,
    n_jobs=None,
    verbose=0,
    params=None,
    pre_dispatch="2*n_jobs",
    error_score=np.nan,
    max_batch=None,
) -> np.ndarray:
    """scikit-learn's ``cross_val_score`` on skmlp's ``cross_validate``."""
    scorer = check_scoring(estimator, scoring=scoring)
    results = cross_validate(
        estimator,
        X,
        y,
        groups=groups,
        scoring={"score": scorer},
        cv=cv,
        n_jobs=n_jobs,
        verbose=verbose,
        params=params,
        pre_dispatch=pre_dispatch,
        error_score=error_score,
        max_batch=max_batch,
    )
    return results["test_score"]
