"""Pulse store backends behind one contract (``base.Store``)."""
