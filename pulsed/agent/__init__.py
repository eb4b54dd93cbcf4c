"""The agent: turn loop, turn scheduling per session, approvals, prompts, budget."""
