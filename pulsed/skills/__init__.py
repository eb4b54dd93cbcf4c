"""SKILL.md skills (the AgentSkills format): found, checked, indexed in the prompt and
loaded on request.

Modules:
    requirements  what a skill needs from the machine (AgentSkills, OpenClaw and nanobot
                  forms) and what of it is missing here.
    parse         one SKILL.md: front matter rules, body.
    catalog       the roots (bundled, person, workspace), precedence, ``[skills]
                  disabled``, rescans when files change.
    files         confined reads inside a skill's folder, its file listing.
    tools         the prompt's "Skills" part (``SkillsPrompt``), ``load_skill``,
                  ``read_skill_file``.

Layer: above ``pulsed.tools`` (it defines tools), below ``pulsed.agent``.
"""
