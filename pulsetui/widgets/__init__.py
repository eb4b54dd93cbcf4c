"""Widgets of the views: the status and view bars, the chat input and the pieces of a
conversation, the live tail table, and block-character charts."""
