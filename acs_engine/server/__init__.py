"""The engine's I/O edge: listeners, transports and the controller that starts them.

- :mod:`.controller`: opens the store, wires bus, handler and listeners on the caller's loop;
- :mod:`.cwmp_http`: the CWMP endpoint (HTTP in, :class:`~acs_engine.session.session.Session`
  driven, replies out); with :mod:`.body`, :mod:`.auth`, :mod:`.admission`, :mod:`.guard`,
  :mod:`.tls` and :mod:`.listeners` around it;
- ``nbi*``, :mod:`.openapi`, :mod:`.ping`: the northbound API (GenieACS's NBI routes);
- :mod:`.proxy`: proxy mode (watch a CPE talk to another ACS);
- :mod:`.logfilter`: rate-limited logging.

Nothing in here decides what a CPE is sent: that is the session's (protocol) and the
handler's (policy, in :mod:`acs_engine.policy`).
"""
