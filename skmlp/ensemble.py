"""A voting ensemble whose skmlp members train together.

``VotingClassifier`` is scikit-learn's, with one difference: on the JAX
backend its members run as skmlp's plan (``skmlp._evaluation``): members
that are skmlp networks of one structure (or ``Pipeline`` objects ending in
one), such as the labs' three-network soft vote, train together as one
compiled program; every group and every other member is a joblib task
(``n_jobs``). With scikit-learn's callbacks set on it (``set_callbacks``,
scikit-learn >= 1.9), on every backend, they reach each member's fit and
each network's epochs. Otherwise, and with metadata routing,
scikit-learn's own ``fit`` runs.
"""

from __future__ import annotations

import sklearn
from sklearn import ensemble as _sk
from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder
from sklearn.utils import Bunch
from sklearn.utils.multiclass import type_of_target

from . import _batch
from . import _sklearn_compat as compat
from ._evaluation import fit_estimators
from ._sklearn_callbacks import CallbackSupportMixin, run_ensemble, watched

__all__ = ["VotingClassifier"]


_DOC = """

    skmlp's version (see ``skmlp.ensemble``): members that are skmlp networks
    of one structure train together on the JAX backend. Parameters,
    attributes and methods are scikit-learn's, plus:

    max_batch : int, default=None
        At most this many networks trained together (None: as many as the
        device's or host's memory allows).
"""


class VotingClassifier(CallbackSupportMixin, _sk.VotingClassifier):
    __doc__ = (_sk.VotingClassifier.__doc__ or "").split("\n")[0] + _DOC

    def __init__(
        self,
        estimators,
        *,
        voting="hard",
        weights=None,
        n_jobs=None,
        flatten_transform=True,
        verbose=False,
        max_batch=None,
    ):
        super().__init__(
            estimators,
            voting=voting,
            weights=weights,
            n_jobs=n_jobs,
            flatten_transform=flatten_transform,
            verbose=verbose,
        )
        self.max_batch = max_batch

    def fit(self, X, y, **fit_params):
        """Fit the members (see scikit-learn's ``VotingClassifier.fit``).

        On the JAX backend, the skmlp members that share a network structure
        train together; every group and every other member is a task for
        ``n_jobs``. scikit-learn's callbacks set on the ensemble
        (``set_callbacks``, scikit-learn >= 1.9) reach each member's fit and
        each network's epochs, on every backend.
        """
        if (
            not (_batch.available() or watched(self))
            or sklearn.get_config().get("enable_metadata_routing")
            or set(fit_params) - {"sample_weight"}
        ):
            return super().fit(X, y, **fit_params)
        # scikit-learn's checks and encoding of y (VotingClassifier.fit) ...
        y_type = type_of_target(y, input_name="y")
        if y_type in ("unknown", "continuous"):
            raise ValueError(
                f"Unknown label type: {y_type}. Maybe you are trying to fit a "
                "classifier, which expects discrete classes on a "
                "regression target with continuous values."
            )
        if y_type not in ("binary", "multiclass"):
            raise NotImplementedError(
                f"{type(self).__name__} only supports binary or multiclass "
                "classification. Multilabel and multi-output classification are "
                "not supported."
            )
        self.le_ = LabelEncoder().fit(y)
        self.classes_ = self.le_.classes_
        y_encoded = self.le_.transform(y)
        # ... and its members' fits (_BaseVoting.fit), as one plan.
        names, members = compat.voting_estimators(self)
        if self.weights is not None and len(self.weights) != len(self.estimators):
            raise ValueError(
                "Number of `estimators` and weights must be equal; got"
                f" {len(self.weights)} weights, {len(self.estimators)} estimators"
            )
        kept = [(n, m) for n, m in zip(names, members, strict=True) if m != "drop"]
        messages = {
            i: compat.voting_message(self, name, i + 1, len(members))
            for i, (name, _) in enumerate(kept)
        }

        def fit_one(index, estimator, X, y, params):
            return compat.fit_single_estimator(
                estimator, X, y, params, "Voting", messages[index]
            )

        self.estimators_ = run_ensemble(
            self,
            X,
            y_encoded,
            len(kept),
            lambda contexts: fit_estimators(
                [clone(member) for _, member in kept],
                X,
                y_encoded,
                [dict(fit_params) for _ in kept],
                n_jobs=self.n_jobs,
                max_batch=self.max_batch,
                verbose=int(bool(self.verbose)),
                fit_one=fit_one,
                contexts=contexts,
                caller=self,
            ),
        )
        self.named_estimators_ = Bunch()
        fitted = iter(self.estimators_)
        for name, member in self.estimators:
            current = member if member == "drop" else next(fitted)
            self.named_estimators_[name] = current
            if hasattr(current, "feature_names_in_"):
                self.feature_names_in_ = current.feature_names_in_
        return self
