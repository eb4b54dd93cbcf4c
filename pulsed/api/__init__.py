"""gRPC servicers: thin translations between pulse.v1 messages and the daemon's parts."""
