"""Reaching a device and serving its files: the ACS's calls towards the CPE, outside a session.

- :mod:`.wake`: the one wake path (a connection request by whichever way the device has);
- :mod:`.connreq`: connection requests over HTTP (TR-069 §3.2.2) and UDP (Annex G), with
  :mod:`.digest` (HTTP authentication) and :mod:`.udpmessage` (the UDP datagram, sans-IO);
- :mod:`.xmpp`: XMPP connection requests (Annex K);
- :mod:`.device_secret`: the database's secret and the connection-request passwords from it;
- :mod:`.files`: the file store and the aiohttp file server CPEs download from.

It knows nothing of sessions or policy: it imports neither :mod:`acs_engine.session` nor
:mod:`acs_engine.policy`, nor the server (import-linter contracts in pyproject.toml).
"""
