"""pulsed: the Pulse daemon (agent, scheduler, channels and store behind one gRPC API)."""

__version__ = "0.1.0"
