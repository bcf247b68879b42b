"""The FieldACS console: a Qt main window around the ACS engine, run on a qasync loop.

Modules:
    main: the ``fieldacs`` entry point (argument parsing, start-up errors, lifetime).
    bootstrap: the QApplication, the Qt platform check and the qasync loop.
    bridge: :class:`~app.bridge.EngineBridge`, the engine's event bus as Qt signals.
    window: :class:`~app.window.MainWindow`, the dock-based main window.
    overview: the "Point your CPE at" panel and the live counters.
    activity: the bounded "Recent activity" model and its view.
    icons: the SVG icons under ``resources/icons``.
"""

APP_NAME = "FieldACS"
ORGANISATION = "FieldACS"
