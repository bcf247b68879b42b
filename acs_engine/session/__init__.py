"""One CWMP session, protocol side: the state machine and the sync algorithm.

- :mod:`.machine`: the transition table (and whose fault a refused transition is);
- :mod:`.session`: one session with one CPE as a protocol object (like h11's ``Connection``):
  messages in, steps and queued events out, no store and no bus;
- :mod:`.driver`: the I/O around a session: the store's reads and commit, the handler's
  calls, publishing its events (the CWMP server and the dry run each run one per session);
- :mod:`.handler`: the policy hook (what to send next); :mod:`.step` holds before each RPC;
- :mod:`.tree`, :mod:`.index`: the session's copy of the device's parameters and a view of it;
- :mod:`.declarations`, :mod:`.planner`, :mod:`.reads`, :mod:`.sync`, :mod:`.gpn`,
  :mod:`.gpv`, :mod:`.writes`, :mod:`.responses`, :mod:`.vparams`, :mod:`.special`,
  :mod:`.builtins`: GenieACS's sync algorithm, declarations in, one RPC at a time out, pure
  and synchronous;
- :mod:`.paths`, :mod:`.coerce`: path grammar and typed values.
"""
