"""Chat channels: the agent on Telegram and Slack, with a durable outbox (see base.py)."""
