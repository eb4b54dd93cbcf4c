"""Long-term memory: what the agent keeps across sessions, recalls when relevant and
forgets on request.

Memories are versions in the ``memory`` stream (``pulsed.store.schema.MEMORY``); the
service (``service.py``) adds, edits, forgets, lists and searches them, ranking keyword
(and, with embeddings, vector) matches by relevance, importance and recency
(``ranking.py``). ``tools.py`` gives the agent remember/recall/forget, ``prompt.py`` puts
"Relevant memories" into each full turn's context, ``capture.py`` turns an extraction
call's answer into memories.
"""
