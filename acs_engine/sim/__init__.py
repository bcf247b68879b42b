"""The CPE simulator: many TR-069 devices in one asyncio process, for tests, demos and benches.

- :class:`~acs_engine.sim.device.SimDevice`: one CPE's tree and RPC semantics (sans-IO).
- :class:`~acs_engine.sim.client.SimCpe`: its sessions over real HTTP.
- :class:`~acs_engine.sim.connreq.ConnectionRequestServer`: connection requests for many CPEs.
- :func:`~acs_engine.sim.runner.run_sim`: a fleet, and the ``sim`` subcommand.
"""
