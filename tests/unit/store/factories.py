"""Small builders of store records for tests."""

from __future__ import annotations

from acs_engine.store import DeviceRecord, Param, SessionCommit, SessionRecord, TraceEntry


def device(device_id: str = "0011AA-Box-SN1", **fields: object) -> DeviceRecord:
    values: dict[str, object] = {
        "id": device_id,
        "manufacturer": "Acme",
        "oui": "0011AA",
        "product_class": "Box",
        "serial_number": "SN1",
        "registered_ms": 1_000,
        "last_inform_ms": 1_000,
    }
    values.update(fields)
    return DeviceRecord(**values)  # type: ignore[arg-type]


def param(path: str, value: str | None = "v", ts: int = 1_000) -> Param:
    if path.endswith("."):
        return Param(path, object=True, writable=False, writable_ts_ms=ts, exist_ts_ms=ts)
    return Param(path, value, "xsd:string", ts, False, True, ts, exist_ts_ms=ts)


def trace(n: int = 4, base: int = 1_000) -> list[TraceEntry]:
    return [
        TraceEntry(
            seq=i,
            at_ms=base + i,
            direction="in" if i % 2 == 0 else "out",
            rpc=f"rpc{i}",
            cwmp_id=str(i),
            status=200 if i % 2 else None,
            headers=(("Content-Type", "text/xml"), ("X-N", str(i))),
            body=f"<body n='{i}'/>".encode(),
        )
        for i in range(n)
    ]


def session(session_id: str, device_id: str, started: int, **fields: object) -> SessionRecord:
    return SessionRecord(session_id, device_id, started, **fields)  # type: ignore[arg-type]


def commit(
    dev: DeviceRecord,
    session_id: str | None = None,
    started: int = 1_000,
    upserts: list[Param] | None = None,
    deletes: list[str] | None = None,
    n_trace: int = 0,
) -> SessionCommit:
    return SessionCommit(
        device=dev,
        upserts=upserts or [],
        deletes=deletes or [],
        session=None if session_id is None else session(session_id, dev.id, started),
        trace=trace(n_trace, started) if session_id is not None else [],
    )
