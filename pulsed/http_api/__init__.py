"""The OpenAI-compatible HTTP API: ``GET /v1/models`` and ``POST /v1/chat/completions``
served by aiohttp for tools that speak OpenAI's Chat Completions (Open WebUI, editors,
the openai SDKs).

Every request carries the bearer token of ``[api.http]``; each completion is one turn
through the agent's one intake (``TurnManager.start``): a ``user_input`` row with source
``api`` in session ``api:<...>``, answered by a normal ``agent_response`` row. Modules:
``listener`` (lifecycle and status; imports aiohttp only when it starts), ``app``
(routes, auth and error middleware), ``completions`` (the turn, plain or as SSE),
``request`` (body parsing, session mapping), ``models``, ``shapes`` (the OpenAI JSON
objects) and ``errors`` (OpenAI-style error objects).
"""
