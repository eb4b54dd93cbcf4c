"""pulsetui: the full-screen console of Pulse (Textual), a pure gRPC client of pulsed."""
