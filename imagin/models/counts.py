"""How many claims of each bureau and session sit in each pair of statuses.

The DEC queue reads its counts and its totals here instead of counting the
bureau's claims on every request. The rows are kept by database triggers on
``claim`` and ``mission`` (see ``TRIGGERS``), in the transaction that changes a
status: the state machine's transitions, the import's bulk INSERTs, the demo and
the deletes all write ``claim`` rows, so none of them can forget the counts.
``imagin counts rebuild`` recomputes the whole table from the claims.
"""

from __future__ import annotations

from sqlalchemy import Boolean, ForeignKey, String, text
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Mapped, mapped_column

from imagin.db import Base
from imagin.models.claims import STATUS_LENGTH


class ClaimCount(Base):
    """Claims of one bureau and session with one pair of stored statuses.

    ``validated`` tells whether the intervenant's validation date is set: the
    queue sorts on that date, so its totals need the split.
    """

    __tablename__ = "claim_count"

    bureau_id: Mapped[int] = mapped_column(ForeignKey("bureau.id"), primary_key=True)
    session_id: Mapped[int] = mapped_column(ForeignKey("exam_session.id"), primary_key=True)
    pay_status: Mapped[str] = mapped_column(String(STATUS_LENGTH), primary_key=True)
    travel_status: Mapped[str] = mapped_column(String(STATUS_LENGTH), primary_key=True)
    validated: Mapped[bool] = mapped_column(Boolean, primary_key=True)
    n: Mapped[int] = mapped_column(default=0)


_KEY = "bureau_id, session_id, pay_status, travel_status, validated"

# SQLite: one writer at a time, so a plain INSERT OR IGNORE then UPDATE is enough.
# A mission's delete first deletes its claim (BEFORE DELETE): the claim's trigger
# then still finds the mission's bureau and session, whichever way it was deleted.
_SQLITE = [
    """
CREATE TRIGGER claim_count_insert AFTER INSERT ON claim
BEGIN
  INSERT OR IGNORE INTO claim_count (KEY, n)
    SELECT m.bureau_id, m.session_id, NEW.pay_status, NEW.travel_status,
           NEW.validated_at IS NOT NULL, 0
    FROM mission m WHERE m.id = NEW.mission_id;
  UPDATE claim_count SET n = n + 1
    WHERE (bureau_id, session_id) = (SELECT bureau_id, session_id FROM mission
                                     WHERE id = NEW.mission_id)
      AND pay_status = NEW.pay_status AND travel_status = NEW.travel_status
      AND validated = (NEW.validated_at IS NOT NULL);
END""",
    """
CREATE TRIGGER claim_count_update AFTER UPDATE OF pay_status, travel_status, validated_at
ON claim
WHEN OLD.pay_status IS NOT NEW.pay_status OR OLD.travel_status IS NOT NEW.travel_status
  OR (OLD.validated_at IS NULL) <> (NEW.validated_at IS NULL)
BEGIN
  UPDATE claim_count SET n = n - 1
    WHERE (bureau_id, session_id) = (SELECT bureau_id, session_id FROM mission
                                     WHERE id = OLD.mission_id)
      AND pay_status = OLD.pay_status AND travel_status = OLD.travel_status
      AND validated = (OLD.validated_at IS NOT NULL);
  INSERT OR IGNORE INTO claim_count (KEY, n)
    SELECT m.bureau_id, m.session_id, NEW.pay_status, NEW.travel_status,
           NEW.validated_at IS NOT NULL, 0
    FROM mission m WHERE m.id = NEW.mission_id;
  UPDATE claim_count SET n = n + 1
    WHERE (bureau_id, session_id) = (SELECT bureau_id, session_id FROM mission
                                     WHERE id = NEW.mission_id)
      AND pay_status = NEW.pay_status AND travel_status = NEW.travel_status
      AND validated = (NEW.validated_at IS NOT NULL);
END""",
    """
CREATE TRIGGER claim_count_delete AFTER DELETE ON claim
BEGIN
  UPDATE claim_count SET n = n - 1
    WHERE (bureau_id, session_id) = (SELECT bureau_id, session_id FROM mission
                                     WHERE id = OLD.mission_id)
      AND pay_status = OLD.pay_status AND travel_status = OLD.travel_status
      AND validated = (OLD.validated_at IS NOT NULL);
END""",
    """
CREATE TRIGGER claim_count_mission_delete BEFORE DELETE ON mission
BEGIN
  DELETE FROM claim WHERE mission_id = OLD.id;
END""",
    """
CREATE TRIGGER claim_count_mission_move AFTER UPDATE OF bureau_id, session_id ON mission
WHEN OLD.bureau_id <> NEW.bureau_id OR OLD.session_id <> NEW.session_id
BEGIN
  UPDATE claim_count SET n = n - 1
    WHERE bureau_id = OLD.bureau_id AND session_id = OLD.session_id
      AND (pay_status, travel_status, validated) = (
        SELECT pay_status, travel_status, validated_at IS NOT NULL FROM claim
        WHERE mission_id = OLD.id);
  INSERT OR IGNORE INTO claim_count (KEY, n)
    SELECT NEW.bureau_id, NEW.session_id, c.pay_status, c.travel_status,
           c.validated_at IS NOT NULL, 0
    FROM claim c WHERE c.mission_id = NEW.id;
  UPDATE claim_count SET n = n + 1
    WHERE bureau_id = NEW.bureau_id AND session_id = NEW.session_id
      AND (pay_status, travel_status, validated) = (
        SELECT pay_status, travel_status, validated_at IS NOT NULL FROM claim
        WHERE mission_id = NEW.id);
END""",
]

# PostgreSQL: an upsert, and the two rows a change touches always locked in the same
# order, so that two transactions moving claims between the same pairs cannot deadlock.
_POSTGRESQL = [
    """
CREATE FUNCTION claim_count_add(b integer, s integer, p varchar, t varchar, v boolean,
                                delta integer) RETURNS void AS $$
BEGIN
  INSERT INTO claim_count AS c (KEY, n) VALUES (b, s, p, t, v, delta)
  ON CONFLICT (KEY) DO UPDATE SET n = c.n + EXCLUDED.n;
END $$ LANGUAGE plpgsql""",
    """
CREATE FUNCTION claim_count_move(ob integer, os integer, op varchar, ot varchar, ov boolean,
                                 nb integer, ns integer, np varchar, nt varchar, nv boolean)
RETURNS void AS $$
BEGIN
  IF ob IS NULL THEN
    IF nb IS NOT NULL THEN PERFORM claim_count_add(nb, ns, np, nt, nv, 1); END IF;
  ELSIF nb IS NULL THEN
    PERFORM claim_count_add(ob, os, op, ot, ov, -1);
  ELSIF ROW(ob, os, op, ot, ov) < ROW(nb, ns, np, nt, nv) THEN
    PERFORM claim_count_add(ob, os, op, ot, ov, -1);
    PERFORM claim_count_add(nb, ns, np, nt, nv, 1);
  ELSE
    PERFORM claim_count_add(nb, ns, np, nt, nv, 1);
    PERFORM claim_count_add(ob, os, op, ot, ov, -1);
  END IF;
END $$ LANGUAGE plpgsql""",
    """
CREATE FUNCTION claim_count_claim() RETURNS trigger AS $$
DECLARE
  ob integer; os integer; nb integer; ns integer;
BEGIN
  IF TG_OP <> 'INSERT' THEN
    SELECT bureau_id, session_id INTO ob, os FROM mission WHERE id = OLD.mission_id;
  END IF;
  IF TG_OP <> 'DELETE' THEN
    SELECT bureau_id, session_id INTO nb, ns FROM mission WHERE id = NEW.mission_id;
  END IF;
  IF TG_OP = 'INSERT' THEN
    PERFORM claim_count_move(NULL, NULL, NULL, NULL, NULL,
      nb, ns, NEW.pay_status, NEW.travel_status, NEW.validated_at IS NOT NULL);
  ELSIF TG_OP = 'DELETE' THEN
    PERFORM claim_count_move(ob, os, OLD.pay_status, OLD.travel_status,
      OLD.validated_at IS NOT NULL, NULL, NULL, NULL, NULL, NULL);
  ELSE
    PERFORM claim_count_move(ob, os, OLD.pay_status, OLD.travel_status,
      OLD.validated_at IS NOT NULL,
      nb, ns, NEW.pay_status, NEW.travel_status, NEW.validated_at IS NOT NULL);
  END IF;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    """
CREATE TRIGGER claim_count_insert AFTER INSERT ON claim
FOR EACH ROW EXECUTE FUNCTION claim_count_claim()""",
    """
CREATE TRIGGER claim_count_update AFTER UPDATE OF pay_status, travel_status, validated_at
ON claim FOR EACH ROW
WHEN (OLD.pay_status IS DISTINCT FROM NEW.pay_status
      OR OLD.travel_status IS DISTINCT FROM NEW.travel_status
      OR (OLD.validated_at IS NULL) <> (NEW.validated_at IS NULL))
EXECUTE FUNCTION claim_count_claim()""",
    """
CREATE TRIGGER claim_count_delete AFTER DELETE ON claim
FOR EACH ROW EXECUTE FUNCTION claim_count_claim()""",
    """
CREATE FUNCTION claim_count_mission() RETURNS trigger AS $$
DECLARE
  c record;
BEGIN
  IF TG_OP = 'DELETE' THEN
    DELETE FROM claim WHERE mission_id = OLD.id;
    RETURN OLD;
  END IF;
  FOR c IN SELECT pay_status, travel_status, validated_at IS NOT NULL AS v
           FROM claim WHERE mission_id = NEW.id LOOP
    PERFORM claim_count_move(OLD.bureau_id, OLD.session_id, c.pay_status, c.travel_status, c.v,
                             NEW.bureau_id, NEW.session_id, c.pay_status, c.travel_status, c.v);
  END LOOP;
  RETURN NULL;
END $$ LANGUAGE plpgsql""",
    """
CREATE TRIGGER claim_count_mission_delete BEFORE DELETE ON mission
FOR EACH ROW EXECUTE FUNCTION claim_count_mission()""",
    """
CREATE TRIGGER claim_count_mission_move AFTER UPDATE OF bureau_id, session_id ON mission
FOR EACH ROW
WHEN (OLD.bureau_id <> NEW.bureau_id OR OLD.session_id <> NEW.session_id)
EXECUTE FUNCTION claim_count_mission()""",
]

TRIGGERS = {
    "sqlite": [statement.replace("KEY", _KEY) for statement in _SQLITE],
    "postgresql": [statement.replace("KEY", _KEY) for statement in _POSTGRESQL],
}

DROP = {
    "sqlite": [
        f"DROP TRIGGER IF EXISTS {name}"
        for name in (
            "claim_count_insert",
            "claim_count_update",
            "claim_count_delete",
            "claim_count_mission_delete",
            "claim_count_mission_move",
        )
    ],
    "postgresql": [
        "DROP TRIGGER IF EXISTS claim_count_insert ON claim",
        "DROP TRIGGER IF EXISTS claim_count_update ON claim",
        "DROP TRIGGER IF EXISTS claim_count_delete ON claim",
        "DROP TRIGGER IF EXISTS claim_count_mission_delete ON mission",
        "DROP TRIGGER IF EXISTS claim_count_mission_move ON mission",
        "DROP FUNCTION IF EXISTS claim_count_mission()",
        "DROP FUNCTION IF EXISTS claim_count_claim()",
        "DROP FUNCTION IF EXISTS claim_count_move(integer, integer, varchar, varchar, boolean,"
        " integer, integer, varchar, varchar, boolean)",
        "DROP FUNCTION IF EXISTS claim_count_add(integer, integer, varchar, varchar, boolean,"
        " integer)",
    ],
}

# What the counts must equal: the same grouping, counted from the claims themselves.
GROUPED = """
SELECT m.bureau_id, m.session_id, c.pay_status, c.travel_status,
       c.validated_at IS NOT NULL AS validated, count(*) AS n
FROM claim c JOIN mission m ON m.id = c.mission_id
GROUP BY KEY
""".replace("KEY", _KEY)


def rebuild_counts(connection: Connection) -> int:
    """Recompute every count from the claims, in the caller's transaction; rows written."""
    if connection.dialect.name == "postgresql":
        # Claims changed meanwhile wait for this transaction instead of counting twice.
        connection.execute(text("LOCK TABLE claim_count IN EXCLUSIVE MODE"))
    connection.execute(text("DELETE FROM claim_count"))
    result = connection.execute(text(f"INSERT INTO claim_count ({_KEY}, n) {GROUPED}"))
    return result.rowcount
