"""The operator's tools over stored data, for the console, the NBI and the CLI.

None of these runs inside a CWMP session:

- :mod:`.commands`: a technician's staged edits -> GenieACS task documents;
- :mod:`.treediff`: a device's parameter tree at two points, compared;
- :mod:`.history`: keeping the parameter history within its retention (a background pruner);
- :mod:`.migrate`: moving devices to another ACS and following who really went;
- :mod:`.export_genieacs`: handing a FieldACS configuration over to GenieACS.

It never imports the server, the CLI or the console's API, and it and
:mod:`acs_engine.policy` import nothing of each other (import-linter contracts in
pyproject.toml).
"""
