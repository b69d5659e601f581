"""What happens to a request: the AMQP column of STYLE §5.4, as data.

Every request ends in exactly one :data:`Outcome`:

========================  =====================================================================
``Reply``                 publish the result (mandatory, confirmed); ack the request only after the
                          confirm; an unroutable result (basic.return) is parked first, then acked
``DeadLetter``            publish the request, with the reason in ``x-bridgeway-error``, to the
                          dead-letter exchange (confirmed); then ack. Never requeued.
``Retry``                 nack with requeue after ``retry_delay_ms``; once the quorum queue's delivery
                          count reaches ``delivery_limit`` it becomes a ``DeadLetter`` instead
========================  =====================================================================

Errors map to outcomes by class (:data:`DISPOSITIONS`): the caller's faults and internal failures that no
retry fixes are dead-lettered on the first delivery; transient ones are retried, boundedly. An exception we
do not know (a bug, a disk error) is retried too: the delivery limit bounds it and the log has the traceback.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from adapters.amqp.errors import BrokerUnavailable, PoisonMessage
from adapters.amqp.messages import Delivery, clip_reason
from adapters.amqp.store import StoredResult
from adapters.mapping import MappingConfigError
from gateway.errors import (
    BridgewayError,
    DeadlineExceeded,
    InvalidInput,
    ModelLoadFailed,
    ModelNotFound,
    ModelNotReady,
    PermissionDenied,
    QueueFull,
    RuntimeFailure,
    Unauthenticated,
)

__all__ = [
    "DISPOSITIONS",
    "DeadLetter",
    "Disposition",
    "Outcome",
    "Reply",
    "Retry",
    "disposition_of",
    "for_error",
]

Disposition = Literal["dead-letter", "retry"]

#: Error class -> what the AMQP pipeline does with the requests it failed (most specific class wins).
DISPOSITIONS: dict[type[BaseException], Disposition] = {
    PoisonMessage: "dead-letter",
    InvalidInput: "dead-letter",
    MappingConfigError: "dead-letter",
    ModelNotFound: "dead-letter",
    ModelLoadFailed: "dead-letter",
    RuntimeFailure: "dead-letter",
    Unauthenticated: "dead-letter",
    PermissionDenied: "dead-letter",
    ModelNotReady: "retry",  # includes ServerDraining, and a remote gateway that is unavailable
    QueueFull: "retry",
    DeadlineExceeded: "retry",
    BrokerUnavailable: "retry",
}


@dataclass(frozen=True, slots=True)
class Reply:
    """Publish ``result`` for ``delivery``; ``replayed``: it came from the store, not the model."""

    delivery: Delivery
    result: StoredResult
    replayed: bool = False


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """Dead-letter ``delivery`` with ``reason``; ``kind``: ``poison``, ``failed``, ``retries-exhausted``."""

    delivery: Delivery
    reason: str
    kind: str


@dataclass(frozen=True, slots=True)
class Retry:
    """Requeue ``delivery`` after a delay; ``reason`` is logged."""

    delivery: Delivery
    reason: str


Outcome = Reply | DeadLetter | Retry


def disposition_of(error: BaseException) -> Disposition:
    """The table's entry for ``error``'s class (or its nearest listed base); unknown errors retry.

    A BridgewayError subclass the table does not list follows its own ``retryable`` flag.
    """
    for cls in type(error).__mro__:
        if cls in DISPOSITIONS:
            return DISPOSITIONS[cls]
    if isinstance(error, BridgewayError):
        return "retry" if error.retryable else "dead-letter"
    return "retry"


def for_error(delivery: Delivery, error: BaseException, delivery_limit: int | None) -> Outcome:
    """The outcome for a request that failed with ``error``.

    A retry of a delivery that has already been tried ``delivery_limit`` times becomes a dead letter of kind
    ``retries-exhausted`` (the same count at which the quorum queue itself would dead-letter it, but with
    the reason in a header). ``delivery_limit`` None: the broker alone bounds retries.
    """
    reason = describe_error(error)
    if disposition_of(error) == "dead-letter":
        kind = "poison" if isinstance(error, PoisonMessage | InvalidInput | MappingConfigError) else "failed"
        return DeadLetter(delivery, reason, kind)
    tried = delivery.previous_deliveries + 1
    if delivery_limit is not None and delivery.previous_deliveries >= delivery_limit:
        return DeadLetter(delivery, f"still failing after {tried} deliveries: {reason}", "retries-exhausted")
    return Retry(delivery, reason)


def describe_error(error: BaseException) -> str:
    """``Class: message`` (the reason text of dead letters and logs), clipped for a header."""
    text = error.reason if isinstance(error, PoisonMessage) else str(error)
    return clip_reason(f"{type(error).__name__}: {text}" if text else type(error).__name__)
