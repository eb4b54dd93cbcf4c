"""The models the API offers: ``pulse`` (the agent with its configured chain: the main
model, then the fallbacks) and ``pulse:<provider:model>`` for each configured fallback
(the agent on that model alone)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from pulsed.http_api.errors import ApiError

AGENT = "pulse"


@dataclass(frozen=True, slots=True)
class Model:
    """One model id and the ``TurnInput.model`` it means ('' = the configured chain)."""

    id: str
    turn_model: str


def offered(chain: Sequence[tuple[str, str]]) -> list[Model]:
    """The models for a provider ``chain`` ((provider, model) pairs, main first)."""
    out = [Model(AGENT, "")]
    out += [Model(f"{AGENT}:{p}:{m}", f"{p}:{m}") for p, m in chain[1:]]
    return out


def resolve(model_id: str, chain: Sequence[tuple[str, str]]) -> Model:
    """The model a request names: one of ``offered``, or ``pulse:<main provider:model>``
    (the main model without its fallbacks).

    Raises:
        ApiError: 404 model_not_found, listing the ids offered.
    """
    candidates = offered(chain)
    if chain:
        p, m = chain[0]
        candidates.append(Model(f"{AGENT}:{p}:{m}", f"{p}:{m}"))
    for model in candidates:
        if model.id == model_id:
            return model
    ids = ", ".join(m.id for m in offered(chain))
    raise ApiError(
        404,
        f"the model {model_id!r} does not exist here; use one of: {ids}",
        param="model",
        code="model_not_found",
    )


def model_object(model: Model, created: int) -> dict[str, Any]:
    """The ``model`` object of ``GET /v1/models`` (``created``: Unix seconds)."""
    return {"id": model.id, "object": "model", "created": created, "owned_by": "pulse"}
