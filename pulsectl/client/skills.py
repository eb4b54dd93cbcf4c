"""The Skills service's calls, mixed into ``AsyncPulseClient`` (core.py holds the rest).

``SkillsCalls`` needs only the client's ``channel`` and ``_unary``; the skills modules
of ``pulse.v1`` are imported when a call is made, so runs that never use them do not
pay for them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    import grpc.aio
    from pulse.v1 import skills_pb2, skills_pb2_grpc

STATES = ("available", "unavailable", "invalid", "disabled")
"""A skill's states: in the prompt, requirements not met, SKILL.md invalid, switched off."""

Q = TypeVar("Q")
R = TypeVar("R")


def why_not(skill: skills_pb2.Skill) -> str:
    """What keeps ``skill`` out of the agent's prompt, in words ("" when it is in)."""
    if skill.state == "unavailable":
        return "; ".join(skill.missing)
    if skill.state == "invalid":
        return skill.error
    if skill.state == "disabled":
        return "in [skills] disabled"
    return ""


class SkillsCalls:
    """``list_skills`` and ``show_skill`` (service ``pulse.v1.Skills``)."""

    if TYPE_CHECKING:

        @property
        def channel(self) -> grpc.aio.Channel: ...

        async def _unary(
            self, method: grpc.aio.UnaryUnaryMultiCallable[Q, R], request: Q, timeout: float = 0
        ) -> R: ...

    @property
    def _skills(self) -> skills_pb2_grpc.SkillsAsyncStub:
        from pulse.v1 import skills_pb2_grpc

        return skills_pb2_grpc.SkillsStub(self.channel)

    async def list_skills(self) -> skills_pb2.ListSkillsResponse:
        """Skills.List: every skill found, with its state (available, unavailable,
        invalid, disabled) and why, and the folders searched."""
        from pulse.v1 import skills_pb2

        return await self._unary(self._skills.List, skills_pb2.ListSkillsRequest())

    async def show_skill(self, name: str) -> skills_pb2.ShowSkillResponse:
        """Skills.Show: one skill with its instructions and files (``ServerError`` with
        code NOT_FOUND for an unknown name)."""
        from pulse.v1 import skills_pb2

        return await self._unary(self._skills.Show, skills_pb2.ShowSkillRequest(name=name))
