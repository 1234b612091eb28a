"""scikit-learn's private functions that skmlp's own evaluation needs.

skmlp's searches, ``cross_validate`` and ``VotingClassifier`` run their fits
as one plan (``_evaluation``) rather than through scikit-learn's loops, which
offer no public hook (``BaseSearchCV.fit`` sends a private ``_fit_and_score``
per (candidate, split) from inside a closure). To keep results exactly
scikit-learn's, they reuse scikit-learn's own private pieces, and only here:

- ``sklearn.model_selection._validation``: ``_fit_and_score``, ``_score``,
  ``_insert_error_scores``, ``_warn_or_raise_about_fit_failures``,
  ``_aggregate_score_dicts``, ``_normalize_score_results``;
- ``BaseSearchCV`` methods: ``_get_scorers``, ``_get_routed_params_for_fit``,
  ``_format_results``, ``_select_best_index``, ``_check_refit_for_multimetric``;
- ``sklearn.utils.validation._check_method_params``,
  ``sklearn.metrics._scorer._MultimetricScorer``;
- ``_BaseHeterogeneousEnsemble._validate_estimators``,
  ``_BaseVoting._log_message`` and ``sklearn.ensemble._base._fit_single_estimator``.

Their signatures are pinned in ``SIGNATURES``, the same from scikit-learn
1.6.1 to 1.9.1 (1.9 added ``_fit_and_score``'s ``caller`` and
``callback_ctx``, and ``_run_search``'s ``callback_ctx``);
``tests/test_sklearn_compat.py`` checks the installed version against them and
``tools/check_sklearn_compat.py`` checks each release's wheel.
"""

from __future__ import annotations

import inspect
from typing import Any

from sklearn.ensemble._base import _BaseHeterogeneousEnsemble, _fit_single_estimator
from sklearn.ensemble._voting import _BaseVoting
from sklearn.metrics._scorer import _MultimetricScorer
from sklearn.model_selection import _validation
from sklearn.model_selection._search import BaseSearchCV
from sklearn.utils.validation import _check_method_params

# name -> the parameters (``inspect.signature``'s text) each version has.
SIGNATURES: dict[str, str] = {
    "_validation._fit_and_score": (
        "(estimator, X, y, *, scorer, train, test, verbose, parameters, "
        "fit_params, score_params, return_train_score=False, "
        "return_parameters=False, return_n_test_samples=False, "
        "return_times=False, return_estimator=False, split_progress=None, "
        "candidate_progress=None, error_score=nan"
    ),
    "_validation._score": (
        "(estimator, X_test, y_test, scorer, score_params, error_score='raise')"
    ),
    "_validation._insert_error_scores": "(results, error_score)",
    "_validation._warn_or_raise_about_fit_failures": "(results, error_score)",
    "_validation._aggregate_score_dicts": "(scores)",
    "_validation._normalize_score_results": "(scores, scaler_score_key='score')",
    "BaseSearchCV._get_scorers": "(self)",
    "BaseSearchCV._get_routed_params_for_fit": "(self, params)",
    "BaseSearchCV._format_results": (
        "(self, candidate_params, n_splits, out, more_results=None)"
    ),
    "BaseSearchCV._select_best_index": "(refit, refit_metric, results)",
    "BaseSearchCV._check_refit_for_multimetric": "(self, scores)",
    "_check_method_params": "(X, params, indices=None)",
    "_BaseHeterogeneousEnsemble._validate_estimators": "(self)",
    "_BaseVoting._log_message": "(self, name, idx, total)",
    "_fit_single_estimator": (
        "(estimator, X, y, fit_params, message_clsname=None, message=None)"
    ),
}


def pinned() -> dict[str, str]:
    """The installed scikit-learn's signatures of the names in ``SIGNATURES``.

    ``_fit_and_score``'s is cut before 1.9's additions (``caller``,
    ``callback_ctx``), which ``fit_and_score`` passes only where they exist.
    """
    found = {}
    for name in SIGNATURES:
        owner, _, attribute = name.rpartition(".")
        module = {
            "_validation": _validation,
            "BaseSearchCV": BaseSearchCV,
            "_BaseHeterogeneousEnsemble": _BaseHeterogeneousEnsemble,
            "_BaseVoting": _BaseVoting,
        }
        plain = {
            "_check_method_params": _check_method_params,
            "_fit_single_estimator": _fit_single_estimator,
        }
        obj = getattr(module[owner], attribute) if owner else plain[attribute]
        text = str(inspect.signature(obj))
        if attribute == "_fit_and_score":
            text = text.split(", caller=")[0].rstrip(")")
        found[name] = text
    return found


_FIT_AND_SCORE_HAS_CALLBACKS = (
    "callback_ctx" in inspect.signature(_validation._fit_and_score).parameters
)


def fit_and_score(estimator, X, y, *, caller=None, callback_ctx=None, **kwargs):
    """scikit-learn's ``_fit_and_score`` (one fit, scored, as its loops do)."""
    if _FIT_AND_SCORE_HAS_CALLBACKS:
        kwargs.update(caller=caller, callback_ctx=callback_ctx)
    return _validation._fit_and_score(estimator, X, y, **kwargs)


def score(estimator, X_test, y_test, scorer, score_params, error_score) -> Any:
    """scikit-learn's ``_score`` (its handling of scorer errors included)."""
    return _validation._score(
        estimator, X_test, y_test, scorer, score_params, error_score
    )


def is_multimetric(scorer) -> bool:
    """Whether ``scorer`` is scikit-learn's dict-of-scorers scorer."""
    return isinstance(scorer, _MultimetricScorer)


def scorer_names(scorer) -> list[str]:
    return list(scorer._scorers)


def single_scorers(scorer):
    """What a search keeps as ``scorer_`` (a dict for several metrics)."""
    return scorer._scorers if is_multimetric(scorer) else scorer


def check_fit_failures(out: list[dict], error_score, scoring) -> None:
    """Warn or raise about failed fits; fill a callable scorer's error scores."""
    _validation._warn_or_raise_about_fit_failures(out, error_score)
    if callable(scoring):
        _validation._insert_error_scores(out, error_score)


def aggregate(out: list[dict]) -> dict:
    return _validation._aggregate_score_dicts(out)


def normalize_scores(scores) -> dict:
    return _validation._normalize_score_results(scores)


def method_params(X, params: dict, indices=None) -> dict:
    """Fit parameters as scikit-learn splits them (rows of ``X`` indexed)."""
    return _check_method_params(X, params=params, indices=indices)


def search_scorers(search) -> tuple[Any, Any]:
    return search._get_scorers()


def search_routed_params(search, params: dict):
    return search._get_routed_params_for_fit(params)


def format_results(search, candidates, n_splits: int, out: list[dict]) -> dict:
    return search._format_results(candidates, n_splits, out)


def select_best_index(search, refit, refit_metric, results) -> int:
    return search._select_best_index(refit, refit_metric, results)


def check_refit_for_multimetric(search, scores) -> None:
    search._check_refit_for_multimetric(scores)


def voting_estimators(ensemble) -> tuple[list, list]:
    """The ensemble's checked (names, estimators), as its ``fit`` takes them."""
    return ensemble._validate_estimators()


def fit_single_estimator(estimator, X, y, fit_params, clsname, message):
    """scikit-learn's ``_fit_single_estimator`` (an ensemble member's fit)."""
    return _fit_single_estimator(
        estimator, X, y, fit_params, message_clsname=clsname, message=message
    )


def voting_message(ensemble, name: str, index: int, total: int):
    return ensemble._log_message(name, index, total)
