"""The live session view: state machine, HTTP timeline, SOAP viewer and step mode.

Modules:
    panel: :class:`~app.live.panel.SessionPanel`, the dock's content.
    cache: the bounded memory of sessions seen live.
    timeline: the timeline's item model (pairing and round trips).
    soap: the SOAP viewer (pretty-printing, highlighting, find, copy, masking).
    machine_view: the state machine widget.
    step_bar: the step-mode bar; dialogs: its Edit / Insert dialogs.
"""
