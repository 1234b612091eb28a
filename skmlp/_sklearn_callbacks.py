"""scikit-learn's callbacks (``sklearn.callback``, experimental) on skmlp's fits.

Every use of that API is here. It follows scikit-learn 1.9.0-1.9.1: the
estimators get ``CallbackSupportMixin`` (``set_callbacks``); a fit is a task
(``_init_callback_context``, ``call_on_fit_task_begin``/``_end``, run inside
``with_callbacks`` so that callbacks are torn down however the fit ends)
with one subtask per epoch, whose end hands the callbacks the network with
that epoch's weights as the fitted estimator (``reconstruction_attributes``),
so ``ScoringMonitor`` scores every epoch and ``ProgressBar`` moves per epoch,
also when a search propagates them to each network it fits.

Searches and ensembles whose fits skmlp's plan runs (``_evaluation``)
build the task tree scikit-learn's own would: a search's root task, its
"search" task of (candidate, split) evaluations and its refit
(``run_search``, after ``BaseSearchCV.fit``); an ensemble's root task with a
subtask per member (``run_ensemble``). A fit that trains alone runs inside
its evaluation task as scikit-learn's ``_fit_and_score`` runs it
(``fit_under``); a network trained batched with others reports the same
tasks from the batched training's epochs (``MemberTask``).

Where scikit-learn has no ``sklearn.callback`` (1.6-1.8), the mixin is empty
and a fit runs as it always did.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._keras import keras

try:  # scikit-learn >= 1.9
    from sklearn.callback import CallbackSupportMixin, with_callbacks

    AVAILABLE = True
except ImportError:  # pragma: no cover - scikit-learn 1.6-1.8
    AVAILABLE = False

    class CallbackSupportMixin:  # type: ignore[no-redef]
        """Nothing: this scikit-learn has no callbacks."""


class _Epochs(keras.callbacks.Callback):
    """One scikit-learn subtask per epoch, reported from Keras' epoch hooks."""

    def __init__(self, context, estimator, X, y, fitted: Callable[[], dict]):
        super().__init__()
        self.context, self.estimator, self.X, self.y = context, estimator, X, y
        self.fitted = fitted
        self.task = None

    def on_epoch_begin(self, epoch, logs=None):
        self.task = self.context.subcontext(task_name="epoch")
        self.task.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y)

    def on_epoch_end(self, epoch, logs=None):
        # The engine has written this epoch's weights into the model.
        stop = self.task.call_on_fit_task_end(
            estimator=self.estimator,
            X=self.X,
            y=self.y,
            reconstruction_attributes=self.fitted,
        )
        self.task = None
        if stop:
            self.model.stop_training = True


def run_fit(
    estimator, fit: Callable[[Any], Any], X, y, epochs: int, fitted: Callable[[], dict]
):
    """``fit(epoch_callback)`` as scikit-learn's fit task of ``estimator``.

    ``epoch_callback`` is a Keras callback to train with (None without
    ``sklearn.callback``); ``fitted()`` gives the attributes that make the
    estimator predict with the model's current weights.
    """
    if not AVAILABLE:
        return fit(None)

    @with_callbacks
    def task(estimator):
        context = estimator._init_callback_context(max_subtasks=epochs)
        context.call_on_fit_task_begin(estimator=estimator, X=X, y=y)
        # Per-epoch subtasks only for callbacks of its own or propagated to
        # it: otherwise the engine need not hand each epoch's weights over.
        watching = getattr(estimator, "_skl_callbacks", None)
        result = fit(_Epochs(context, estimator, X, y, fitted) if watching else None)
        context.call_on_fit_task_end(
            estimator=estimator, X=X, y=y, reconstruction_attributes={}
        )
        return result

    return task(estimator)


def search_candidates(search, evaluate_candidates, candidates, callback_ctx) -> None:
    """``evaluate_candidates`` of a search, as scikit-learn 1.9's searches call it.

    With scikit-learn's callback context, the candidates are a "search" task
    of (candidate, split) subtasks, through which the search's callbacks
    reach each network's fit; without one, the call scikit-learn made before.
    """
    if callback_ctx is None:
        evaluate_candidates(candidates)
        return
    context = callback_ctx.subcontext(
        task_name="search",
        max_subtasks=len(candidates) * search.n_splits_,
        sequential_subtasks=False,
    ).call_on_fit_task_begin(estimator=search)
    evaluate_candidates(candidates, callback_ctx=context)
    context.call_on_fit_task_end(estimator=search)


def watched(estimator) -> bool:
    """Whether scikit-learn callbacks are set on ``estimator`` (or a pipeline's steps)."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return any(watched(step) for _, step in steps)
    return bool(getattr(estimator, "_skl_callbacks", None))


class SearchTasks:
    """A search's task tree, as scikit-learn 1.9's ``BaseSearchCV.fit`` builds it.

    ``fits``: one context per (candidate, split), in the plan's order.
    """

    def __init__(self, search, X, y, metadata, n_fits: int):
        self.search, self.X, self.y, self.metadata = search, X, y, metadata
        self.root = search._init_callback_context(
            max_subtasks=1 + (search.refit is not False)
        ).call_on_fit_task_begin(estimator=search, X=X, y=y, metadata=metadata)
        self.search_task = self.root.subcontext(
            task_name="search", max_subtasks=n_fits, sequential_subtasks=False
        ).call_on_fit_task_begin(estimator=search)
        self.fits = [
            self.search_task.subcontext(
                task_name="candidate-split-evaluation", task_id=i
            )
            for i in range(n_fits)
        ]

    def searched(self) -> None:
        """Every (candidate, split) fit is done: the "search" task ends."""
        self.search_task.call_on_fit_task_end(estimator=self.search)

    def refit(self, estimator, fit: Callable[[], Any]) -> None:
        """``fit()`` the best candidate's estimator as the "refit" task."""
        context = self.root.subcontext(task_name="refit-with-best-params")
        with context.propagate_callback_context(estimator):
            context.call_on_fit_task_begin(
                estimator=self.search, X=self.X, y=self.y, metadata=self.metadata
            )
            fit()
        context.call_on_fit_task_end(
            estimator=self.search, X=self.X, y=self.y, metadata=self.metadata
        )

    def end(self) -> None:
        self.root.call_on_fit_task_end(
            estimator=self.search, X=self.X, y=self.y, metadata=self.metadata
        )


def run_search(search, X, y, sample_weight, n_fits: int, body: Callable):
    """``body(tasks)``: a search's fit, with its ``SearchTasks`` (None unwatched)."""
    if not (AVAILABLE and watched(search)):
        return body(None)
    metadata = None if sample_weight is None else {"sample_weight": sample_weight}

    @with_callbacks
    def task(search):
        tasks = SearchTasks(search, X, y, metadata, n_fits)
        result = body(tasks)
        tasks.end()
        return result

    return task(search)


def run_ensemble(ensemble, X, y, n_members: int, body: Callable):
    """``body(contexts)``: an ensemble's fit, one context per member (None unwatched)."""
    if not (AVAILABLE and watched(ensemble)):
        return body(None)

    @with_callbacks
    def task(ensemble):
        root = ensemble._init_callback_context(
            max_subtasks=n_members, sequential_subtasks=False
        ).call_on_fit_task_begin(estimator=ensemble, X=X, y=y)
        contexts = [
            root.subcontext(task_name="fit-member", task_id=i) for i in range(n_members)
        ]
        result = body(contexts)
        root.call_on_fit_task_end(estimator=ensemble, X=X, y=y)
        return result

    return task(ensemble)


def fit_under(context, *, caller, estimator, X, y, fit: Callable[[], Any]):
    """``fit()`` as the (candidate, split) or member task ``context``."""
    if context is None:
        return fit()
    with context.propagate_callback_context(estimator):
        context.call_on_fit_task_begin(estimator=caller, X=X, y=y)
        try:
            return fit()
        finally:
            context.call_on_fit_task_end(estimator=caller, X=X, y=y)


class MemberTask:
    """A network trained batched with others, as the task its own fit would be.

    Opened under its (candidate, split) or member ``context``: the network's
    fit task (``epochs`` subtasks, one per epoch) hangs below it, as when
    the network trains alone. The network carries only the callbacks
    propagated from the search or ensemble, whose setup and teardown are
    theirs, so it needs none of its own.
    """

    def __init__(self, context, *, caller, estimator, X, y, epochs: int):
        self.context, self.caller, self.estimator = context, caller, estimator
        self.X, self.y = X, y
        with context.propagate_callback_context(estimator):
            context.call_on_fit_task_begin(estimator=caller, X=X, y=y)
            self.fit_task = with_callbacks(_open_fit_task)(estimator, X, y, epochs)

    def epoch_end(self, fitted: Callable[[], dict]) -> bool:
        """One epoch done: its task begins and ends; True to stop this network."""
        task = self.fit_task.subcontext(task_name="epoch")
        task.call_on_fit_task_begin(estimator=self.estimator, X=self.X, y=self.y)
        return bool(
            task.call_on_fit_task_end(
                estimator=self.estimator,
                X=self.X,
                y=self.y,
                reconstruction_attributes=fitted,
            )
        )

    def end(self) -> None:
        self.fit_task.call_on_fit_task_end(
            estimator=self.estimator, X=self.X, y=self.y, reconstruction_attributes={}
        )
        self.context.call_on_fit_task_end(estimator=self.caller, X=self.X, y=self.y)


def _open_fit_task(estimator, X, y, epochs: int):
    return estimator._init_callback_context(max_subtasks=epochs).call_on_fit_task_begin(
        estimator=estimator, X=X, y=y
    )
