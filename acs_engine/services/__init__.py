"""What the engine does for a device beyond the protocol: policy, its helpers and the NBI's.

Three kinds of module live here (see docs/architecture.md, "The session and the engine's
layers"):

- session policy, the :class:`~acs_engine.session.handler.Handler` side:
  :mod:`.provisioning` (tasks and presets -> provisions -> RPCs), :mod:`.presets`,
  :mod:`.virtual`, :mod:`.memo`, :mod:`.faults`, :mod:`.dryrun`;
- waking a device and the files it downloads: :mod:`.wake`, :mod:`.connreq`, :mod:`.xmpp`,
  :mod:`.udpmessage`, :mod:`.digest`, :mod:`.device_secret`, :mod:`.files`;
- pure helpers of the console and the NBI: :mod:`.commands` (staged edits -> tasks),
  :mod:`.treediff`, :mod:`.history` (retention).
"""
