"""Modal dialogs the views open: each a ``ModalScreen`` dismissed with its answer.

Modules:
    approval    ``Approval``: allow or deny a tool call whose policy is "ask".
    confirm     ``Confirm``: a yes/no question.
    prompt      ``Prompt``: one line of text (e.g. a session's new title).
    row_detail  ``RowDetail``: one stream row shown whole.
    task_form   ``TaskForm``: add or edit a scheduled task (talks to the daemon).
"""
