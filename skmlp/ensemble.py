"""A voting ensemble whose skmlp members train together.

``VotingClassifier`` is scikit-learn's, with one difference: on the JAX
backend, members that are skmlp networks of one structure (or ``Pipeline``
objects ending in one), such as the labs' three-network soft vote, train as
one compiled program before scikit-learn's ``fit`` runs (see
``skmlp._batch``). Other members are fitted by scikit-learn as usual.
"""

from __future__ import annotations

import numpy as np
import sklearn
from sklearn import ensemble as _sk
from sklearn.base import clone
from sklearn.preprocessing import LabelEncoder

from . import _batch
from .model_selection import _final_step

__all__ = ["VotingClassifier"]


_DOC = """

    skmlp's version (see ``skmlp.ensemble``): members that are skmlp networks
    of one structure train together on the JAX backend. Parameters,
    attributes and methods are scikit-learn's, plus:

    max_batch : int, default=None
        At most this many networks trained together (None: as many as the
        device's or host's memory allows).
"""


class VotingClassifier(_sk.VotingClassifier):
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
        are trained together first; the others as usual.
        """
        store = self._batched_fits(X, y, fit_params)
        if store is None or not store.fits:  # nothing batched: n_jobs as given
            return super().fit(X, y, **fit_params)
        with _batch.serving(store, self):
            return super().fit(X, y, **fit_params)

    def _batched_fits(self, X, y, fit_params):
        if (
            not _batch.available()
            or sklearn.get_config().get("enable_metadata_routing")
            or set(fit_params) - {"sample_weight"}
        ):
            return None
        try:
            # The labels the members see: scikit-learn's own encoding of y.
            y_encoded = LabelEncoder().fit_transform(np.asarray(y))
        except (TypeError, ValueError):
            return None  # scikit-learn's fit reports it
        weights = fit_params.get("sample_weight")
        members = []
        for _, estimator in self.estimators:
            if estimator == "drop":
                continue
            final, pre = _final_step(estimator)
            if final is None or (pre is not None and weights is not None):
                continue
            data, data_id = X, "X"
            if pre is not None:
                data, data_id = clone(pre).fit_transform(X, y_encoded), None
            members.append(
                _batch.Member(clone(final), data, y_encoded, weights, data_id)
            )
        if len(members) < 2:
            return None
        store, _ = _batch.fit_members(
            members,
            n_jobs=self.n_jobs,
            max_batch=self.max_batch,
            verbose=int(bool(self.verbose)),
        )
        return store
