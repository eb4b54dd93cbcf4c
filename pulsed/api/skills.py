"""Skills: the SKILL.md skills the daemon found, with their state and why."""

from __future__ import annotations

import asyncio
import json

from pulse.v1 import skills_pb2, skills_pb2_grpc

from pulsed.api.deps import ApiDeps
from pulsed.api.errors import Context, unary
from pulsed.errors import InvalidArgument, NotFound
from pulsed.skills.catalog import Skill, SkillSet
from pulsed.skills.files import listing


def skill_pb(s: Skill) -> skills_pb2.Skill:
    """A found skill as its message."""
    msg = skills_pb2.Skill(
        name=s.name,
        description=s.description,
        source=s.source,
        path=str(s.path),
        state=s.state,
        missing=list(s.missing),
        error=s.error,
        overrides=[str(p) for p in s.overrides],
        has_scripts=s.has_scripts,
    )
    if s.doc is not None:
        r = s.doc.requires
        msg.license = s.doc.license
        msg.compatibility = s.doc.compatibility
        msg.allowed_tools.extend(s.doc.allowed_tools)
        msg.warnings.extend(s.doc.warnings)
        msg.requires.CopyFrom(
            skills_pb2.SkillRequirements(
                bins=list(r.bins), any_bins=list(r.any_bins), env=list(r.env), os=list(r.os)
            )
        )
    return msg


class SkillsServicer(skills_pb2_grpc.SkillsServicer):
    """List and Show over the daemon's one ``SkillCatalog`` (the agent's)."""

    def __init__(self, deps: ApiDeps) -> None:
        self.d = deps

    async def _current(self) -> SkillSet:
        return await asyncio.to_thread(self.d.skills.current)

    @unary
    async def List(
        self, request: skills_pb2.ListSkillsRequest, context: Context
    ) -> skills_pb2.ListSkillsResponse:
        skills = await self._current()
        return skills_pb2.ListSkillsResponse(
            skills=[skill_pb(s) for s in skills.skills],
            enabled=self.d.cfg.skills.enabled,
            roots=[
                skills_pb2.SkillRoot(source=r.source, path=str(r.path), exists=r.path.is_dir())
                for r in skills.roots
            ],
            unknown_disabled=sorted(set(self.d.cfg.skills.disabled) - set(skills.by_name)),
        )

    @unary
    async def Show(
        self, request: skills_pb2.ShowSkillRequest, context: Context
    ) -> skills_pb2.ShowSkillResponse:
        if not request.name:
            raise InvalidArgument("name is empty; list the skills with `pulsectl skills list`")
        skills = await self._current()
        skill = skills.get(request.name)
        if skill is None:
            names = ", ".join(s.name for s in skills.skills) or "none"
            raise NotFound(f"no skill {request.name!r} (found: {names})")
        files = await asyncio.to_thread(listing, skill.path)
        doc = skill.doc
        return skills_pb2.ShowSkillResponse(
            skill=skill_pb(skill),
            body=doc.body if doc else "",
            files=files,
            metadata_json=json.dumps(doc.metadata if doc else {}, default=str, sort_keys=True),
        )
