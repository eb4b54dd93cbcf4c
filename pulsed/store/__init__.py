"""Pulse store backends behind one contract (``base.Store``).

``schema`` defines the streams once; ``base`` holds the contract (argument checks shared
by every backend, then the protected methods a backend implements) and the value types;
``factory`` picks the configured backend; ``copy`` copies history from one store into
another. The backends are packages: ``local`` (embedded SQLite) and ``timeplus``.
"""
