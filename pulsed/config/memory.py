"""[memory]: long-term memory (pulsed.memory)."""

from __future__ import annotations

from dataclasses import dataclass

from pulsed.errors import ConfigError

EMBEDDINGS = ("none", "openai", "ollama", "openai-compatible")


@dataclass
class MemoryConfig:
    """[memory]: what the agent remembers across sessions and how it recalls it."""

    enabled: bool = True
    """Keep and recall memories (the memory tools, "Relevant memories" in the prompt)."""
    auto: bool = True
    """After a chat turn, a small extraction call (origin memory, budgeted) proposes
    facts worth keeping."""
    model: str = ""
    """Model of the extraction call ([provider:]model); empty: the agent's."""
    embeddings: str = "none"
    """none | openai | ollama | openai-compatible; keyword recall always works."""
    embedding_model: str = ""
    """Embedding model id; empty: the provider's usual one (text-embedding-3-small,
    nomic-embed-text)."""
    embedding_base_url: str = ""
    """Endpoint of the embeddings provider; empty: that provider's [providers.*] base_url
    or the SDK's default."""
    recall_k: int = 5
    """Most memories put into one turn's prompt."""
    recall_max_tokens: int = 600
    """Most (estimated) tokens of memories in one turn's prompt."""
    half_life_days: float = 90.0
    """Recency half-life of recall ranking, days."""
    extract_max_tokens: int = 400
    """Most output tokens of the extraction call."""


def validate_memory(m: MemoryConfig) -> None:
    """Raises ConfigError for a bad [memory] value."""
    if m.embeddings not in EMBEDDINGS:
        raise ConfigError(
            f'memory.embeddings: "{m.embeddings}" is not one of {", ".join(EMBEDDINGS)}'
        )
    if not 0 <= m.recall_k <= 50:
        raise ConfigError("memory.recall_k: must be between 0 and 50")
    if m.recall_max_tokens < 0:
        raise ConfigError("memory.recall_max_tokens: must be 0 or more")
    if m.half_life_days <= 0:
        raise ConfigError("memory.half_life_days: must be above 0")
    if m.extract_max_tokens < 16:
        raise ConfigError("memory.extract_max_tokens: must be at least 16")
