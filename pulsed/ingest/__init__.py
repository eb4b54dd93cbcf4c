"""Rows from outside into the ``ingest`` stream: the appender every way in shares
(``appender``: checks, dedupe, durable batched appends), webhooks (``webhooks``) and
feeds (``feeds``). Stream triggers (``pulsed.scheduling.triggers``) consume what lands."""
