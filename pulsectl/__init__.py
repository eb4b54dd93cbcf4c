"""pulsectl: the scriptable command line of Pulse, a client of pulsed over gRPC.

It imports only grpc, the ``pulse`` contract package and the standard library; never
the daemon (``pulsed``) nor textual.
"""
