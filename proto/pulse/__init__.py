"""The contract between pulsed and its clients: the generated API (``pulse.v1``) and paths."""
