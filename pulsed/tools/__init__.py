"""The agent's tools: a small ``Tool`` interface, a registry, and the built-in tools."""
