"""Session policy: what a device is sent, decided from tasks, presets and provisions.

This is the :class:`~acs_engine.session.handler.Handler` side of a session (the protocol side
is :mod:`acs_engine.session`); see docs/architecture.md, "The layers":

- :mod:`.provisioning`: the provisioning handler, tasks and presets -> provisions -> RPCs;
- :mod:`.provision_run`: running one provision script against the planner;
- :mod:`.presets`: which presets apply to a device (preconditions, events, schedules);
- :mod:`.virtual`: virtual parameters; :mod:`.memo`: skipping work whose inputs did not change;
- :mod:`.faults`: provision faults, recorded and retried;
- :mod:`.dryrun`: a whole session against a simulated CPE, nothing stored.

It may import the session, the store, scripting and :mod:`acs_engine.reach`; never the
server, the CLI, the console's API or :mod:`acs_engine.admin` (import-linter contracts in
pyproject.toml).
"""
