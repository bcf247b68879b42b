"""One CWMP session, protocol side: the state machine and the sync algorithm.

- :mod:`.machine`: the transition table (and whose fault a refused transition is);
- :mod:`.session`: one session with one CPE, driven by the server, asking a handler;
- :mod:`.handler`: the policy hook (what to send next); :mod:`.step` holds before each RPC;
- :mod:`.tree`, :mod:`.index`: the session's copy of the device's parameters and a view of it;
- :mod:`.declarations`, :mod:`.planner`, :mod:`.reads`, :mod:`.sync`, :mod:`.gpn`,
  :mod:`.gpv`, :mod:`.vparams`, :mod:`.special`, :mod:`.builtins`: GenieACS's sync
  algorithm, declarations in, one RPC at a time out, pure and synchronous;
- :mod:`.paths`, :mod:`.coerce`: path grammar and typed values.
"""
