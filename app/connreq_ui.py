"""The connection-request button: wake a device, show progress, say what happened and what
to check.

:class:`ConnectionRequester` does the work on the event loop (never blocking it) through the
engine's one wake path (:meth:`~acs_engine.console_api.ConsoleEngine.wake`: the device's
``ManagementServer`` parameters, the request, then up to ``device_online_threshold_ms`` for
the device's session). :class:`ConnReqButton` is the
button with a busy indicator and the outcome in words; the main window's toolbar action
uses the same requester.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from PySide6.QtCore import QObject, Qt, Signal, Slot
from PySide6.QtWidgets import QHBoxLayout, QLabel, QProgressBar, QPushButton, QVBoxLayout, QWidget

from acs_engine.console_api import ConsoleEngine, DeviceUnknown, EngineUnavailable, console_engine

log = logging.getLogger("fieldacs.app")

#: Where a device says which ACS it informs (for the "did not connect" hint).
_URL_PATHS = ("Device.ManagementServer.URL", "InternetGatewayDevice.ManagementServer.URL")

#: The outcome of :func:`send_connection_request` as a headline.
HEADLINES = {
    "sent": "Request accepted",
    "offline": "Device offline",
    "wrong_credentials": "Wrong credentials",
    "unreachable": "Device unreachable",
    "timeout": "No answer",
    "basic_not_allowed": "Basic authentication refused",
    "bad_url": "No usable connection-request URL",
    "xmpp_unavailable": "XMPP server unavailable",
    "error": "Connection request failed",
}


@dataclass(frozen=True, slots=True)
class ConnReqReport:
    """What a connection request came to, for a technician.

    Attributes:
        device_id: the device.
        ok: True when the device opened its session.
        outcome: ``"connected"``, ``"no_session"``, ``"no_url"``, ``"not_running"`` or one of
            :data:`HEADLINES`' keys.
        headline: a few words (``"Device connected"``, ``"Wrong credentials"``).
        detail: what happened and what to check.
    """

    device_id: str
    ok: bool
    outcome: str
    headline: str
    detail: str

    @property
    def text(self) -> str:
        """Headline and detail in one line."""
        return f"{self.headline}. {self.detail}" if self.detail else self.headline


class ConnectionRequester(QObject):
    """Sends connection requests, one at a time per device, and reports how they went.

    Signals:
        started(str): a request for this device started.
        progress(str, str): (device id, what is happening now).
        finished(ConnReqReport): the report.
    """

    started = Signal(str)
    progress = Signal(str, str)
    finished = Signal(ConnReqReport)

    def __init__(
        self,
        engine: ConsoleEngine,
        acs_url: Callable[[], str] = lambda: "",
        parent: QObject | None = None,
    ) -> None:
        """Use ``engine``'s store, bus and settings.

        Args:
            engine: the running engine.
            acs_url: the ACS URL a device should use (for the "did not connect" hint).
            parent: the owning QObject.
        """
        super().__init__(parent)
        self._engine = console_engine(engine)
        self._acs_url = acs_url
        self._tasks: dict[str, asyncio.Task[ConnReqReport]] = {}
        self.last: dict[str, ConnReqReport] = {}

    def busy(self, device_id: str) -> bool:
        """Whether a request for ``device_id`` is in progress."""
        task = self._tasks.get(device_id)
        return task is not None and not task.done()

    def request(self, device_id: str) -> asyncio.Task[ConnReqReport]:
        """Start a request for ``device_id`` (or return the one in progress)."""
        task = self._tasks.get(device_id)
        if task is not None and not task.done():
            return task
        task = asyncio.ensure_future(self._run(device_id))
        self._tasks[device_id] = task
        self.started.emit(device_id)
        return task

    async def _run(self, device_id: str) -> ConnReqReport:
        try:
            report = await self.run(device_id)
        except Exception as exc:  # a bug must not leave the button spinning
            log.exception("connection request to %s failed", device_id)
            report = ConnReqReport(device_id, False, "error", HEADLINES["error"], str(exc))
        self.last[device_id] = report
        # Not busy any more by the time anyone hears of the end (the task itself is done
        # only after this returns): the toolbar's action is enabled again.
        if self._tasks.get(device_id) is asyncio.current_task():
            del self._tasks[device_id]
        self.finished.emit(report)
        return report

    async def run(self, device_id: str) -> ConnReqReport:
        """Send one connection request and wait for the session; never raises for the
        device's failures (they are the report).

        The work is the engine's one wake path (:meth:`ConsoleEngine.wake`): it reads the
        device's ManagementServer parameters, respects a device already in session and
        publishes ``ConnectionRequestDone``; this only puts the outcome in a technician's words.
        """
        engine = self._engine
        self.progress.emit(device_id, "Sending the connection request…")
        start = time.monotonic()
        try:
            done = await engine.wake(device_id)
        except EngineUnavailable:
            return ConnReqReport(device_id, False, "not_running", "The ACS is not running",
                                 "Start FieldACS's ACS before waking devices.")
        except DeviceUnknown:
            return ConnReqReport(
                device_id, False, "no_url", "No connection-request URL",
                "The device has not reported ManagementServer.ConnectionRequestURL yet. It "
                "sends it in its Inform: wait for its next periodic Inform, or reboot it.",
            )
        result = done.result
        if not result.ok:
            headline = HEADLINES.get(result.outcome, HEADLINES["error"])
            return ConnReqReport(device_id, False, result.outcome, headline, result.message)
        if not done.session_started:
            threshold = engine.config.device_online_threshold_ms / 1000.0
            acs = self._acs_url() or "this laptop's ACS URL"
            stored = await engine.load_param_values(device_id, _URL_PATHS)
            reported = next((p.value for p in stored.values() if p.value), "")
            also = f" (the device last reported {reported})" if reported else ""
            return ConnReqReport(
                device_id, False, "no_session", "No session",
                f"Request accepted but the device did not start a session within "
                f"{threshold:g} s — check that its ACS URL points to this laptop: "
                f"{acs}{also}.",
            )
        waited = max(0.0, time.monotonic() - start - result.elapsed_ms / 1000)
        when = "right away" if waited < 0.1 else f"{waited:.1f} s after the request was accepted"
        return ConnReqReport(
            device_id, True, "connected", "Device connected",
            f"It opened a session {when}.",
        )


_DOT = {True: "#16a34a", False: "#dc2626", None: "#64748b"}


class ConnReqButton(QWidget):
    """"Connection request" for one device: the button, a busy bar and the outcome in words.

    Shows requests started elsewhere (the toolbar) for the same device too.

    Signals:
        reported(ConnReqReport): the report shown.
    """

    reported = Signal(ConnReqReport)

    def __init__(
        self, requester: ConnectionRequester, device_id: str, parent: QWidget | None = None
    ) -> None:
        """Bind to ``device_id``."""
        super().__init__(parent)
        self._requester = requester
        self._device_id = device_id
        self.button = QPushButton("Connection request")
        self.button.setObjectName("connReqButton")
        self.button.setToolTip("Ask the device to open a session now (Ctrl+R)")
        self.button.clicked.connect(self.trigger)
        self.busy_bar = QProgressBar()
        self.busy_bar.setRange(0, 0)
        self.busy_bar.setTextVisible(False)
        self.busy_bar.setFixedSize(72, 8)
        self.busy_bar.hide()
        self.status = QLabel()
        self.status.setObjectName("connReqStatus")
        self.status.setWordWrap(True)
        self.status.setMinimumWidth(320)
        self.status.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.status.hide()
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.button)
        row.addWidget(self.busy_bar)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        layout.addLayout(row)
        layout.addWidget(self.status)
        requester.started.connect(self._on_started)
        requester.progress.connect(self._on_progress)
        requester.finished.connect(self._on_finished)
        if requester.busy(device_id):
            self._on_started(device_id)

    def trigger(self) -> asyncio.Task[ConnReqReport]:
        """Send the request (the button's click)."""
        return self._requester.request(self._device_id)

    def status_text(self) -> str:
        """The words shown under the button (plain text)."""
        return self.status.property("plain") or ""

    def _show(self, ok: bool | None, headline: str, detail: str = "") -> None:
        colour = _DOT[ok]
        body = f"<b style='color:{colour}'>●&nbsp;{_escape(headline)}</b>"
        if detail:
            body += f"<br><span style='color:#334155'>{_escape(detail)}</span>"
        self.status.setText(body)
        self.status.setProperty("plain", f"{headline}. {detail}" if detail else headline)
        self.status.show()

    @Slot(str)
    def _on_started(self, device_id: str) -> None:
        if device_id != self._device_id:
            return
        self.button.setEnabled(False)
        self.busy_bar.show()
        self._show(None, "Sending the connection request…")

    def _on_progress(self, device_id: str, text: str) -> None:
        if device_id == self._device_id:
            self._show(None, text)

    @Slot(ConnReqReport)
    def _on_finished(self, report: ConnReqReport) -> None:
        if not isinstance(report, ConnReqReport) or report.device_id != self._device_id:
            return
        self.button.setEnabled(True)
        self.busy_bar.hide()
        self._show(report.ok, report.headline, report.detail)
        self.reported.emit(report)


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
