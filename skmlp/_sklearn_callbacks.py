"""scikit-learn's callbacks (``sklearn.callback``, experimental) on skmlp's fits.

Every use of that API is here. It follows scikit-learn 1.9.0-1.9.1: the
estimators get ``CallbackSupportMixin`` (``set_callbacks``); a fit is a task
(``_init_callback_context``, ``call_on_fit_task_begin``/``_end``, run inside
``with_callbacks`` so that callbacks are torn down however the fit ends)
with one subtask per epoch, whose end hands the callbacks the network with
that epoch's weights as the fitted estimator (``reconstruction_attributes``),
so ``ScoringMonitor`` scores every epoch and ``ProgressBar`` moves per epoch,
also when a search propagates them to each network it fits.

Where scikit-learn has no ``sklearn.callback`` (1.6-1.8), the mixin is empty
and a fit runs as it always did. A search with callbacks set trains its
networks through scikit-learn's loop, one by one, so that each epoch
reaches them (networks trained batched, on JAX, report no epochs).
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


def watched(estimator) -> bool:
    """Whether scikit-learn callbacks are set on ``estimator`` (or a pipeline's steps)."""
    steps = getattr(estimator, "steps", None)
    if steps:
        return any(watched(step) for _, step in steps)
    return bool(getattr(estimator, "_skl_callbacks", None))
