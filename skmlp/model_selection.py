"""Searches and cross-validation that train skmlp networks together.

``GridSearchCV``, ``RandomizedSearchCV``, ``cross_validate`` and
``cross_val_score`` are scikit-learn's, with one difference: on the JAX
backend they run their fits as one plan (``skmlp._evaluation``): each
split's steps before the network fitted once, the (candidate, split) fits
of an skmlp estimator, or of a ``Pipeline`` ending in one, that share a
network structure trained together as one compiled program, and every
group and every other fit a joblib task (``n_jobs``, any joblib backend).
Results, best candidate and refit are scikit-learn's own. Elsewhere, and
where the plan does not apply (scikit-learn callbacks set on the network
itself; fit parameters the network does not take, without metadata
routing; ``cross_validate`` under routing), scikit-learn's own loop runs.
The user guide's "Many networks at once" says when it batches.
"""

from __future__ import annotations

import time

import numpy as np
import sklearn
from sklearn import model_selection as _sk
from sklearn.base import clone, is_classifier
from sklearn.metrics import check_scoring
from sklearn.model_selection import check_cv
from sklearn.utils import indexable

from . import _batch
from . import _sklearn_compat as compat
from ._evaluation import NETWORK_PARAMS, Scoring, evaluate, final_step, weight_key
from ._sklearn_callbacks import run_search, search_candidates, watched

__all__ = ["GridSearchCV", "RandomizedSearchCV", "cross_validate", "cross_val_score"]


def _planned(estimator, params) -> bool:
    """Whether skmlp's plan runs these fits (else scikit-learn's loop does).

    On the JAX backend, for an skmlp network or a ``Pipeline`` ending in
    one, without scikit-learn callbacks set on the network itself
    (callbacks set on the search reach each fit's epochs through the plan),
    with fit parameters the network takes (``sample_weight``, ``X_val``,
    ``y_val``, ``sample_weight_val``; a search's ``groups``) or under
    metadata routing (the plan runs a fit whose routed parameters reach
    anything else as scikit-learn would).
    """
    if not _batch.available() or final_step(estimator)[0] is None:
        return False
    if watched(estimator):
        return False
    if sklearn.get_config().get("enable_metadata_routing"):
        return True  # the plan checks what each fit's routed parameters reach
    prefix = weight_key(estimator).removesuffix("sample_weight")
    return set(params) <= {"groups"} | {prefix + name for name in NETWORK_PARAMS}


class _BatchedSearch:
    """What GridSearchCV and RandomizedSearchCV add to scikit-learn's."""

    def _candidate_list(self) -> list[dict]:
        raise NotImplementedError

    def _run_search(self, evaluate_candidates, *, callback_ctx=None):
        # scikit-learn's own loop (see ``fit``) over the same candidates.
        # scikit-learn >= 1.9 passes its callbacks' context (None before).
        search_candidates(
            self, evaluate_candidates, self._candidate_list(), callback_ctx
        )

    def fit(self, X, y=None, **params):
        """Run fit with all sets of parameters (see scikit-learn's ``fit``).

        On the JAX backend, skmlp's plan runs the (candidate, split) fits:
        networks that share a structure train together, each group and
        each other fit a task for ``n_jobs``. Elsewhere scikit-learn's loop.
        """
        if not _planned(self.estimator, params):
            return super().fit(X, y, **params)
        return self._planned_fit(X, y, params)

    def _planned_fit(self, X, y, params):
        """scikit-learn's ``BaseSearchCV.fit``, its loop replaced by the plan."""
        X, y = indexable(X, y)
        params = compat.method_params(X, params)
        routed = compat.search_routed_params(self, params)
        cv = check_cv(self.cv, y, classifier=is_classifier(self.estimator))
        self.n_splits_ = cv.get_n_splits(X, y, **routed.splitter.split)
        splits = list(cv.split(X, y, **routed.splitter.split))
        if len(splits) != self.n_splits_:
            raise ValueError(
                "cv.split and cv.get_n_splits return inconsistent results. "
                f"Expected {self.n_splits_} splits, got {len(splits)}"
            )
        candidates = self._candidate_list()
        n_fits = len(candidates) * len(splits)
        return run_search(
            self,
            X,
            y,
            params.get(weight_key(self.estimator)),
            n_fits,
            lambda tasks: self._evaluate(X, y, routed, candidates, splits, tasks),
        )

    def _evaluate(self, X, y, routed, candidates, splits, tasks):
        """The plan's fits, their results and the refit (``tasks``: callbacks')."""
        scorers, refit_metric = compat.search_scorers(self)
        if self.verbose > 0:
            print(
                f"Fitting {self.n_splits_} folds for each of {len(candidates)} "
                f"candidates, totalling {self.n_splits_ * len(candidates)} fits"
            )
        out = evaluate(
            self.estimator,
            candidates,
            splits,
            X,
            y,
            fit_params=routed.estimator.fit,
            scoring=Scoring(
                scorer=scorers,
                score_params=routed.scorer.score,
                return_train_score=self.return_train_score,
                error_score=self.error_score,
                verbose=self.verbose,
            ),
            batch=True,
            n_jobs=self.n_jobs,
            pre_dispatch=self.pre_dispatch,
            max_batch=self.max_batch,
            contexts=None if tasks is None else tasks.fits,
            caller=self,
        )
        if tasks is not None:
            tasks.searched()
        if len(out) < 1:
            raise ValueError(
                "No fits were performed. Was the CV iterator empty? "
                "Were there no candidates?"
            )
        compat.check_fit_failures(out, self.error_score, self.scoring)
        results = compat.format_results(self, candidates, self.n_splits_, out)
        first_test_score = out[0]["test_scores"]
        self.multimetric_ = isinstance(first_test_score, dict)
        if callable(self.scoring) and self.multimetric_:
            compat.check_refit_for_multimetric(self, first_test_score)
            refit_metric = self.refit
        if self.refit or not self.multimetric_:
            self.best_index_ = compat.select_best_index(
                self, self.refit, refit_metric, results
            )
            if not callable(self.refit):
                self.best_score_ = results[f"mean_test_{refit_metric}"][
                    self.best_index_
                ]
            self.best_params_ = results["params"][self.best_index_]
        if self.refit:
            self.best_estimator_ = clone(self.estimator).set_params(
                **clone(self.best_params_, safe=False)
            )
            start = time.time()
            data = (X,) if y is None else (X, y)

            def refit():
                self.best_estimator_.fit(*data, **routed.estimator.fit)

            if tasks is None:
                refit()
            else:
                tasks.refit(self.best_estimator_, refit)
            self.refit_time_ = time.time() - start
            if hasattr(self.best_estimator_, "feature_names_in_"):
                self.feature_names_in_ = self.best_estimator_.feature_names_in_
        self.scorer_ = compat.single_scorers(scorers)
        self.cv_results_ = results
        return self


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
    ending in one) run as skmlp's plan (see ``skmlp.model_selection``).
    ``max_batch`` caps how many networks train together. ``fit_time`` holds
    each fold's share of its batch's time.
    """
    params = dict(params or {})
    routing = sklearn.get_config().get("enable_metadata_routing")
    if routing or watched(estimator) or not _planned(estimator, params):
        return _sk.cross_validate(
            estimator,
            X,
            y,
            groups=groups,
            scoring=scoring,
            cv=cv,
            n_jobs=n_jobs,
            verbose=verbose,
            params=params or None,
            pre_dispatch=pre_dispatch,
            return_train_score=return_train_score,
            return_estimator=return_estimator,
            return_indices=return_indices,
            error_score=error_score,
        )
    X, y = indexable(X, y)
    cv = check_cv(cv, y, classifier=is_classifier(estimator))
    if callable(scoring):
        scorers = scoring
    elif scoring is None or isinstance(scoring, str):
        scorers = check_scoring(estimator, scoring)
    else:
        scorers = check_scoring(estimator, scoring, raise_exc=error_score == "raise")
    splits = list(cv.split(X, y, groups))
    out = evaluate(
        estimator,
        [None],
        splits,
        X,
        y,
        fit_params=params,
        scoring=Scoring(
            scorer=scorers,
            score_params={},
            return_train_score=return_train_score,
            return_n_test_samples=False,
            return_estimator=return_estimator,
            error_score=error_score,
            verbose=verbose,
        ),
        batch=True,
        n_jobs=n_jobs,
        pre_dispatch=pre_dispatch,
        max_batch=max_batch,
    )
    compat.check_fit_failures(out, error_score, scoring)
    results = compat.aggregate(out)
    ret = {"fit_time": results["fit_time"], "score_time": results["score_time"]}
    if return_estimator:
        ret["estimator"] = results["estimator"]
    if return_indices:
        ret["indices"] = {
            "train": [train for train, _ in splits],
            "test": [test for _, test in splits],
        }
    test_scores = compat.normalize_scores(results["test_scores"])
    train_scores = (
        compat.normalize_scores(results["train_scores"]) if return_train_score else {}
    )
    for name in test_scores:
        ret[f"test_{name}"] = test_scores[name]
        if return_train_score:
            ret[f"train_{name}"] = train_scores[name]
    return ret


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
