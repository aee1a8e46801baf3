"""Batches look tracks up by (rule, key) pairs; SQLite must answer with index searches, not a
scan of the whole table that grows with every track ever seen."""

from __future__ import annotations

from sqlalchemy import create_engine, select, text
from sqlmodel import SQLModel, col

from schemas.bulk import pairs_in
from schemas.tables import Track


def _plan(where: object) -> list[str]:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[Track.__table__])  # type: ignore[attr-defined]
    statement = select(col(Track.rule), col(Track.key)).where(where)  # type: ignore[arg-type]
    compiled = statement.compile(engine, compile_kwargs={"literal_binds": True})
    with engine.connect() as connection:
        rows = connection.execute(text(f"EXPLAIN QUERY PLAN {compiled}")).all()
    return [row[3] for row in rows]


def test_pairs_are_index_searches_per_rule() -> None:
    pairs = [("victim-letter", f"U{n}/V1") for n in range(50)] + [("hearing-record-sheet", "U1/H1")]
    plan = _plan(pairs_in(col(Track.rule), col(Track.key), pairs))
    assert plan and all(step.startswith(("SEARCH", "MULTI-INDEX OR", "INDEX")) for step in plan)


def test_the_row_value_in_it_replaces_scans_the_table() -> None:
    from sqlalchemy import tuple_

    pairs = [("victim-letter", f"U{n}/V1") for n in range(50)]
    plan = _plan(tuple_(col(Track.rule), col(Track.key)).in_(pairs))
    assert any(step.startswith("SCAN tracks") for step in plan)


def test_exactly_the_pairs_given_are_found() -> None:
    engine = create_engine("sqlite://")
    SQLModel.metadata.create_all(engine, tables=[Track.__table__])  # type: ignore[attr-defined]
    with engine.begin() as connection:
        connection.execute(
            text("INSERT INTO tracks (rule, key, facts, updated_at) VALUES (:r, :k, '[]', '')"),
            [{"r": r, "k": k} for r, k in [("r1", "k1"), ("r1", "k2"), ("r2", "k1")]],
        )

        def found(pairs: list[tuple[str, str]]) -> set[tuple[str, str]]:
            where = pairs_in(col(Track.rule), col(Track.key), pairs)
            rows = connection.execute(select(col(Track.rule), col(Track.key)).where(where))
            return {(r, k) for r, k in rows}

        assert found([("r1", "k2"), ("r2", "k1"), ("r2", "k2"), ("r3", "k1")]) == {
            ("r1", "k2"),
            ("r2", "k1"),
        }
        assert found([]) == set()


async def test_the_batch_lookup_of_tracks_is_index_searches() -> None:
    # The consumer's own lookup (driver-bound, one JSON parameter per list of keys), asked
    # for its plan on SQLite by putting EXPLAIN QUERY PLAN before its SELECT.
    from sqlalchemy.ext.asyncio import create_async_engine

    from schemas import bulk
    from schemas.db import session_factory

    engine = create_async_engine("sqlite+aiosqlite://")
    try:
        async with engine.begin() as connection:
            await connection.run_sync(SQLModel.metadata.create_all, tables=[Track.__table__])
        async with session_factory(engine)() as session:
            rows = await bulk.select_where(
                session,
                "EXPLAIN QUERY PLAN SELECT rule, key, version FROM tracks",
                bulk.PairsIn("rule", "key", [("victim-letter", "U1/V1"), ("ctl", "U2/D1")]),
                bulk.In("urn", ["U1", "U3"]),
                bulk.PairsIn("rule", "link", [("finalisation-check", "S-1")]),
            )
    finally:
        await engine.dispose()
    plan = [row[3] for row in rows]
    assert any(step.startswith("SEARCH tracks") for step in plan)
    assert not any(step.startswith("SCAN tracks") for step in plan), plan
