"""The alert store: every alert episode with its lifecycle and triage, and an append-only audit.

One SQLite file in the workspace (WAL, synchronous FULL, migrations by `PRAGMA user_version`).
A scan's alerts go through the lifecycle (lifecycle.py) and are written, with the scan's audit
entry, in one transaction: a run killed at any point leaves the store as before or as after.
A row is written only where the night changed it; the night a live alert was last scanned is
that of its rule (`rule_scans`), so an alert found as it was costs no write.
"""

from __future__ import annotations

import json
import logging
import operator
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import ExitStack, closing, contextmanager, nullcontext, suppress
from datetime import UTC, date, datetime
from functools import lru_cache
from pathlib import Path

import orjson

from noncoop.alerts.backfill import first_scan
from noncoop.alerts.lifecycle import COLUMNS, CONTENT, JSON_COLUMNS, reconcile
from noncoop.alerts.model import (
    ACTIVE,
    STATUSES,
    TRIAGE,
    TRIAGE_ACTIONS,
    AuditEntry,
    StoredAlert,
    StoreUpdate,
)
from noncoop.engine.alert import LAID_OUT, Alert, Folded, Stored, relaid
from noncoop.vocab import LEVELS, as_pattern_tag

log = logging.getLogger("noncoop.alerts")

MIGRATIONS = (
    f"""
    CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        rule_version TEXT, household_id TEXT, title TEXT, level TEXT, pattern TEXT, tags TEXT,
        window_start TEXT, window_end TEXT, explanation TEXT, evidence TEXT, guidance TEXT,
        actions TEXT,
        status TEXT NOT NULL CHECK (status IN {STATUSES}),
        note TEXT,
        changed_as_of TEXT NOT NULL,
        triage TEXT NOT NULL DEFAULT 'open' CHECK (triage IN {TRIAGE}),
        triage_by TEXT,
        triage_reason TEXT,
        triage_at TEXT,
        snoozed_until TEXT,
        triage_evidence TEXT,
        first_as_of TEXT NOT NULL,
        touched_as_of TEXT NOT NULL,
        prior TEXT
    );
    CREATE INDEX alerts_by_rule_subject ON alerts (rule_id, subject_id);
    CREATE TABLE audit (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        at TEXT NOT NULL,
        actor TEXT NOT NULL,
        action TEXT NOT NULL,
        as_of TEXT,
        alert_id TEXT,
        details TEXT NOT NULL
    );
    CREATE TRIGGER audit_is_append_only_update BEFORE UPDATE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    CREATE TRIGGER audit_is_append_only_delete BEFORE DELETE ON audit
    BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
    """,
    # The alerts of superseded rules folded into an alert (JSON list).
    "ALTER TABLE alerts ADD COLUMN related TEXT;",
    # The last night each rule was scanned. A live alert a night finds as it was is not written
    # again: the night it was last scanned is its rule's (`_as_scanned`), and its own
    # `touched_as_of` the last night that changed it. Rewriting each of a night's ten thousand
    # live rows, evidence and all, to move that one date on was a fifth of storing them.
    "CREATE TABLE rule_scans (rule_id TEXT PRIMARY KEY, as_of TEXT NOT NULL);",
    # What each alert was explained from (engine/recall.py): a night that finds the same takes
    # the stored alert rather than explaining it again.
    "ALTER TABLE alerts ADD COLUMN fingerprint TEXT;",
    # Each rule's live alerts and the night the first was raised, which a night asks before it
    # starts (`live_since`), without reading the rows: their state lies past the evidence.
    "CREATE INDEX alerts_live ON alerts (status, rule_id, first_as_of);",
)


class StoreError(RuntimeError):
    """A request the store cannot carry out (unknown alert, back-fill out of order)."""


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AlertStore:
    """The SQLite alert store of one workspace."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @contextmanager
    def connect(self, shared: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection (`shared`: usable from another thread than the one opening it, one
        at a time)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        opened = sqlite3.connect(
            self.path, timeout=30, isolation_level=None, check_same_thread=not shared
        )
        with closing(opened) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _migrate(conn)
            yield conn

    @contextmanager
    def reading(self) -> Iterator[sqlite3.Connection]:
        """A connection that never needs to write: the listing commands work on a workspace
        that is read-only (a copy on a read-only share, a backup), reading the store as it is."""
        with ExitStack() as stack:
            try:
                conn = stack.enter_context(self.connect())
            except sqlite3.OperationalError as exc:
                if not _cannot_write(exc):
                    raise
                uri = f"{self.path.resolve().as_uri()}?mode=ro&immutable=1"
                conn = stack.enter_context(closing(sqlite3.connect(uri, uri=True)))
                conn.row_factory = sqlite3.Row
            yield conn

    @contextmanager
    def transaction(self, opened: sqlite3.Connection | None = None) -> Iterator[sqlite3.Connection]:
        """All or nothing: killed at any point, the store is as before or as after (on a
        connection of its own, or on one `opened` already)."""
        with nullcontext(opened) if opened is not None else self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # health ---------------------------------------------------------------------------------
    def damage(self) -> str | None:
        """Why the store cannot be trusted (None: it can, or there is none yet)."""
        if not self.path.exists():
            return None
        try:
            with self.reading() as conn:
                verdict = conn.execute("PRAGMA quick_check").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            return f"{self.path.name} cannot be read ({exc})"
        return None if verdict == "ok" else f"{self.path.name} fails its check ({verdict})"

    def move_aside(self) -> Path:
        """Keep a damaged store under another name; the next scan starts a new one."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        kept = self.path.with_name(f"{self.path.name}.damaged-{stamp}")
        for suffix in ("", "-wal", "-shm"):
            part = self.path.with_name(self.path.name + suffix)
            if part.exists():
                part.replace(kept.with_name(kept.name + suffix))
        return kept

    # runs -----------------------------------------------------------------------------------
    def last_as_of(self) -> str | None:
        """The latest date a scan has been recorded for."""
        if not self.path.exists():
            return None
        with self.reading() as conn:
            return _last_scan(conn)

    def live_since(self) -> dict[str, str]:
        """By rule, the first night of its live alerts (new, ongoing or reopened): no episode
        one of them tells began earlier."""
        if not self.path.exists():
            return {}
        marks = ", ".join("?" * len(ACTIVE))
        query = (
            "SELECT rule_id, MIN(first_as_of) FROM alerts "
            f"WHERE status IN ({marks}) GROUP BY rule_id"
        )
        with self.reading() as conn:
            return dict(conn.execute(query, ACTIVE).fetchall())

    def check_as_of(self, as_of: str) -> None:
        """Refuse a scan dated before the last one: back-filling must go forward in date order."""
        _refuse_earlier(self.last_as_of(), as_of)

    def record_scan(
        self,
        alerts: list[Alert],
        versions: dict[str, str],
        as_of: str,
        run: dict,
        actor: str,
        folded: Sequence[Alert | Folded] = (),
        ahead: ReadAhead | None = None,
    ) -> StoreUpdate:
        """Match a scan's alerts to the stored episodes, update them and audit the run, at once;
        `folded` are the alerts folded into others tonight. The stored rows are those read
        `ahead` where the store has not changed since."""
        with self.transaction(ahead.conn if ahead else None) as conn:
            _refuse_earlier(_last_scan(conn), as_of)  # again, inside the transaction
            early = ahead.taken(as_of) if ahead else None
            stored, parsed = early or _stored_rows(conn, as_of)
            update, rows, dropped = reconcile(parsed, alerts, versions, as_of, folded)
            conn.executemany("DELETE FROM alerts WHERE alert_id = ?", [(a,) for a in dropped])
            gone = set(dropped)
            _write_alerts(conn, rows, {r[0]: r for r in stored if r[0] not in gone})
            _scanned(conn, versions, as_of)
            details = {**run, "alerts": update.counts, "resolved": len(update.resolved)}
            _audit(conn, actor, "scan", details, as_of=as_of)
        return update

    @contextmanager
    def reading_ahead(self, as_of: str) -> Iterator[ReadAhead]:
        """The rows a scan as of `as_of` will reconcile, read in a thread while it evaluates;
        the connection they were read on, for the scan to record on."""
        with self.connect(shared=True) as conn:
            ahead = ReadAhead(conn, as_of)
            try:
                yield ahead
            finally:
                ahead.thread.join()

    def record_first_scan(
        self,
        alerts: list[Alert],
        versions: dict[str, str],
        as_of: str,
        since: str | None,
        run: dict,
        actor: str,
        folded: list[Alert] = (),
    ) -> StoreUpdate:
        """Record a first scan over the whole history (episodes ending on or after `since`), as
        nightly scans up to `as_of` would have left the store; refused once a scan is stored."""
        with self.transaction() as conn:
            if _last_scan(conn) is not None:
                raise StoreError("the store already holds a scan: its history is recorded")
            update, rows = first_scan(alerts, versions, as_of, since, folded)
            _write_alerts(conn, rows)
            _scanned(conn, versions, as_of)
            details = {**run, "alerts": update.counts, "history_from": since}
            _audit(conn, actor, "scan", {**details, "resolved": 0}, as_of=as_of)
        return update

    # triage -----------------------------------------------------------------------------------
    def triage(
        self,
        alert_id: str,
        action: str,
        by: str,
        reason: str,
        until: date | None = None,
    ) -> StoredAlert:
        """Acknowledge, close or snooze an alert; the reason and who did it go to the audit."""
        if not by.strip() or not reason.strip():
            raise StoreError("a name (--by) and a reason (--reason) are required")
        state = TRIAGE_ACTIONS[action]
        if action == "snooze" and until is None:
            raise StoreError("snooze needs --until DATE")
        self._require()
        with self.transaction() as conn:
            row = conn.execute("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
            if row is None:
                raise StoreError(f"no alert {alert_id} in this workspace")
            evidence = [e["event_id"] for e in json.loads(row["evidence"])]
            change = {
                "triage": state,
                "triage_by": by,
                "triage_reason": reason,
                "triage_at": now(),
                "snoozed_until": until.isoformat() if until else None,
                "triage_evidence": json.dumps(evidence),
            }
            prior = json.loads(row["prior"]) if row["prior"] else None
            if prior:
                # A re-run of the night starts from here, so it keeps this decision too.
                prior.update({**change, "triage_evidence": evidence})
            sets = ", ".join(f"{k} = ?" for k in change)
            conn.execute(
                f"UPDATE alerts SET {sets}, prior = ? WHERE alert_id = ?",
                [*change.values(), json.dumps(prior) if prior else row["prior"], alert_id],
            )
            details = {"reason": reason, "until": change["snoozed_until"], "status": row["status"]}
            _audit(conn, by, action, details, alert_id=alert_id)
        return self.get(alert_id)

    def _require(self) -> None:
        if not self.path.exists():
            raise StoreError(f"no alert store at {self.path}: run `noncoop scan` first")

    # reading ----------------------------------------------------------------------------------
    def get(self, alert_id: str) -> StoredAlert:
        self._require()
        with self.reading() as conn:
            row = conn.execute("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
            scans = _rule_scans(conn)
        if row is None:
            raise StoreError(f"no alert {alert_id} in this workspace")
        return _stored(dict(row), scans)

    def list(
        self,
        status: Iterable[str] = ACTIVE,
        triage: Iterable[str] = ("open", "acknowledged"),
        level: Iterable[str] = (),
        pattern: str | None = None,
        subject: str | None = None,
        since: str | None = None,
    ) -> list[StoredAlert]:
        """Stored alerts, most severe first; by default those that need someone's attention."""
        where, args = ["1 = 1"], []
        for column, values in (("status", status), ("triage", triage), ("level", level)):
            values = list(values)
            if values:
                where.append(f"{column} IN ({', '.join('?' * len(values))})")
                args.extend(values)
        if pattern:
            where.append("pattern = ?")
            args.append(as_pattern_tag(pattern))
        if subject:
            where.append("subject_id = ?")
            args.append(subject)
        if since:
            where.append("changed_as_of >= ?")
            args.append(since)
        if not self.path.exists():
            return []
        order = "CASE level " + " ".join(f"WHEN '{lv}' THEN {lv.rank}" for lv in LEVELS)
        with self.reading() as conn:
            rows = conn.execute(
                f"SELECT * FROM alerts WHERE {' AND '.join(where)} "
                f"ORDER BY {order} ELSE 9 END, rule_id, subject_id, alert_id",
                args,
            ).fetchall()
            scans = _rule_scans(conn)
        return [_stored(dict(r), scans) for r in rows]

    def audit(self) -> list[AuditEntry]:
        """Every scan and triage action, oldest first."""
        if not self.path.exists():
            return []
        with self.reading() as conn:
            rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        return [AuditEntry(**{**dict(r), "details": json.loads(r["details"])}) for r in rows]


def _cannot_write(exc: sqlite3.OperationalError) -> bool:
    """SQLite's ways of saying the file or its folder cannot be written."""
    text = str(exc)
    return any(w in text for w in ("readonly", "read-only", "unable to open"))


def _last_scan(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT MAX(as_of) FROM audit WHERE action = 'scan'").fetchone()[0]


def _scanned(conn: sqlite3.Connection, rules: Iterable[str], as_of: str) -> None:
    """Record the night as the last each of the rules was scanned."""
    conn.executemany(
        "INSERT INTO rule_scans (rule_id, as_of) VALUES (?, ?) "
        "ON CONFLICT (rule_id) DO UPDATE SET as_of = excluded.as_of",
        [(rule_id, as_of) for rule_id in rules],
    )


def _rule_scans(conn: sqlite3.Connection) -> dict[str, str]:
    """The last night each rule was scanned; none recorded in a store written before they were
    (opened read-only, it cannot be brought up to date), whose rows were all written nightly."""
    try:
        return dict(conn.execute("SELECT rule_id, as_of FROM rule_scans").fetchall())
    except sqlite3.OperationalError:
        return {}


def _stored(row: dict, scans: dict[str, str]) -> StoredAlert:
    """A row of the store as the alert it holds; a list in it that is not JSON is a damaged
    store, named by the alert's id (never its text)."""
    try:
        return StoredAlert.from_row(_as_scanned(row, scans))
    except json.JSONDecodeError:
        damage = f"alert {row['alert_id']}: a list it holds is not JSON"
        raise sqlite3.DatabaseError(damage) from None


def _as_scanned(row: dict, scans: dict[str, str]) -> dict:
    """The row with the last night that scanned it: for a live alert, its rule's last scan
    where that is later than the last night that changed the row (a night that found the alert
    as it was does not write it); for a resolved one, the night it was resolved."""
    scanned = scans.get(row["rule_id"])
    if row["status"] in ACTIVE and scanned is not None and scanned > row["touched_as_of"]:
        row["touched_as_of"] = scanned
    return row


def _refuse_earlier(last: str | None, as_of: str) -> None:
    if last is not None and as_of < last:
        raise StoreError(
            f"the alert store already holds a scan as of {last}; scans must go forward in "
            f"date order, so --as-of {as_of} is refused (back-fill into a new workspace)"
        )


class ReadAhead:
    """A store's rows read in a thread while a scan evaluates (reading them is a fifth of
    recording a night at 100,000 children). They stand only where nothing was written to the
    store between reading them and the scan's own transaction (`PRAGMA data_version`, taken
    before reading, still the same then): an alert closed meanwhile is read again."""

    def __init__(self, conn: sqlite3.Connection, as_of: str):
        self.conn, self.as_of = conn, as_of
        self.read: tuple[int, tuple[list[tuple], list[dict]]] | None = None
        self.live: dict[str, Stored] = {}
        self.thread = threading.Thread(target=self._read, name="store read-ahead", daemon=True)
        self.thread.start()

    def _read(self) -> None:
        # What goes wrong is met again, and reported, when the scan reads the rows itself.
        with suppress(Exception):
            version = _data_version(self.conn)
            rows, parsed = _stored_rows(self.conn, self.as_of)
            # Made here too, beside the scan's patterns, not after them in the scan's thread.
            self.live = _live(rows)
            self.read = (version, (rows, parsed))

    def recalled(self) -> dict[str, Stored]:
        """By fingerprint, the live alerts read, as the engine takes back those it finds as they
        were (engine/recall.py): an alert's content is that of its fingerprint, so rows changed
        since they were read (triage) still give it."""
        self.thread.join()
        return self.live  # left empty where the rows could not be read

    def taken(self, as_of: str) -> tuple[list[tuple], list[dict]] | None:
        """The rows read ahead, inside the scan's transaction on the same connection, where
        they are still the store's; None where they must be read again."""
        self.thread.join()
        read, self.read = self.read, None
        if read is None or as_of != self.as_of or read[0] != _data_version(self.conn):
            return None
        return read[1]


def _live(rows: list[tuple]) -> dict[str, Stored]:
    """The live alerts of the rows, by fingerprint; less those whose stored text is not whole
    (named in the log by id), which are explained again."""
    live = {}
    for row in rows:
        if row[_FINGERPRINT] is None or row[_STATUS] not in ACTIVE:
            continue
        stored = Stored._make(_RECALLED(row))
        if stored.whole():
            live[row[_FINGERPRINT]] = stored
        else:
            log.warning("alert %s: its stored records are not whole: it is explained again", row[0])
    return live


def _data_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever another connection writes to the store."""
    return conn.execute("PRAGMA data_version").fetchone()[0]


def _stored_rows(conn: sqlite3.Connection, as_of: str) -> tuple[list[tuple], list[dict]]:
    """The rows a scan as of `as_of` reconciles: as SQLite holds them, and as dicts."""
    stored = _read_rows(conn, as_of)
    return stored, _rows(stored)


def _read_rows(conn: sqlite3.Connection, as_of: str) -> list[tuple]:
    """Every stored row, its values in COLUMNS order as SQLite holds them; an episode resolved
    before the night `as_of` with only its key, window and state (the rest blank). Reconciling
    never writes those back: an episode that comes back takes tonight's content and evidence,
    its state moved on from the one it had. A region's resolved episodes grow night after
    night; its live ones do not."""
    taken = [_UNLESS_RESOLVED.format(c) if c in _HISTORY_ONLY else c for c in COLUMNS]
    query = f"SELECT {', '.join(taken)} FROM alerts ORDER BY alert_id"
    return conn.execute(query, {"as_of": as_of}).fetchall()


# What a resolved episode's row holds that reconciling does not read: what it said, and its
# state before the night that last changed it.
_HISTORY_ONLY = (*(c for c in CONTENT if c not in ("window_start", "window_end")), "prior")
_UNLESS_RESOLVED = "CASE WHEN status = 'resolved' AND touched_as_of <> :as_of THEN NULL ELSE {} END"


def _rows(stored: list[tuple]) -> list[dict]:
    """The stored rows as dicts by column. Only what reconciling reads is parsed; the rest stays
    JSON text and is written back as is. A value that is not JSON is a damaged store, named by
    the alert's id (never its text). The dicts are made in one pass and the few columns parsed
    in another: a quarter less time than both for each row in turn, in a thread whose Python
    the patterns' threads wait on (38,000 rows at 100k children: 137 to 101 ms)."""
    rows = [dict(zip(COLUMNS, values, strict=True)) for values in stored]
    for row in rows:
        for name in _PARSED:
            text = row[name]
            if isinstance(text, str):
                try:
                    row[name] = orjson.loads(text)
                except orjson.JSONDecodeError:
                    damage = f"alert {row['alert_id']}: its {name} is not JSON"
                    raise sqlite3.DatabaseError(damage) from None
    return rows


_PARSED = ("triage_evidence", "prior")


def _write_alerts(
    conn: sqlite3.Connection, rows: list[dict], before: dict[str, tuple] | None = None
) -> None:
    """Write the rows: a row not stored yet whole, a stored one (in `before`, by id, as
    `_read_rows` read it) only in the columns that changed, and a live one that changed only in
    the night it was last touched not at all (its rule's scan says so: `_as_scanned`). SQLite
    rewrites a whole row, evidence and all, to change any value of it, and most of a night's
    rows are ongoing alerts as they were."""
    before = before or {}
    encoded = [_encoded(r) for r in rows]
    placeholders = ", ".join("?" * len(COLUMNS))
    conn.executemany(
        f"INSERT OR REPLACE INTO alerts ({', '.join(COLUMNS)}) VALUES ({placeholders})",
        [values for values in encoded if values[0] not in before],
    )
    changes: dict[tuple[int, ...], list[tuple]] = {}
    for values in encoded:
        old = before.get(values[0])
        if old is None:
            continue
        # Most rows differ, if at all, in the night last touched: told apart from the rest by
        # two comparisons of whole tuples, not one of each column.
        if (
            values[_TOUCHED + 1 :] == old[_TOUCHED + 1 :]
            and values[:_TOUCHED] == old[:_TOUCHED]
            and (values[_STATUS] in ACTIVE or values[_TOUCHED] == old[_TOUCHED])
        ):
            continue
        changed = tuple(i for i in range(1, len(COLUMNS)) if values[i] != old[i])
        if changed:
            changes.setdefault(changed, []).append((*(values[i] for i in changed), values[0]))
    for changed, args in changes.items():
        sets = ", ".join(f"{COLUMNS[i]} = ?" for i in changed)
        conn.executemany(f"UPDATE alerts SET {sets} WHERE alert_id = ?", args)


_VALUES = operator.itemgetter(*COLUMNS)
_TOUCHED, _STATUS = COLUMNS.index("touched_as_of"), COLUMNS.index("status")
_FINGERPRINT = COLUMNS.index("fingerprint")
_RECALLED = operator.itemgetter(*(COLUMNS.index(c) for c in Stored._fields))
_ENCODED = [COLUMNS.index(c) for c in (*JSON_COLUMNS, "prior")]
_OF_RULE = frozenset(COLUMNS.index(c) for c in ("tags", "guidance", "actions"))


_LAID_OUT = frozenset(COLUMNS.index(c) for c in ("evidence", "related"))


def _encoded(row: dict) -> tuple:
    """A row's values in COLUMNS order as the store holds them (JSON columns as text; the
    evidence and related alerts laid out where a scan's JSON file holds them, so that an alert
    taken back from the store is written there from its text as it is: Alert.laid_out)."""
    values = list(_VALUES(row))
    for i in _ENCODED:
        if values[i] is not None and not isinstance(values[i], str):
            if i in _OF_RULE:
                values[i] = _rule_json(tuple(values[i]))
            else:
                values[i] = _json(values[i], LAID_OUT if i in _LAID_OUT else None)
    return tuple(values)


@lru_cache(maxsize=4096)
def _rule_json(values: tuple) -> str:
    """A rule's tags, guidance or actions as JSON text: the same for every alert of the rule,
    encoded once a night rather than for each of its thousands of alerts."""
    return _json(list(values))


def _json(value: object, depth: int | None = None) -> str:
    """JSON text for a stored column, on one line, or with a `depth` laid out by two spaces as
    if that many levels in: orjson, ten times the standard encoder's speed on a night's
    thousands of evidence lists; the standard one, which lays it out the same, for what orjson
    refuses."""
    indent = depth is not None
    try:
        text = orjson.dumps(value, option=orjson.OPT_INDENT_2 if indent else None).decode()
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(value, ensure_ascii=False, indent=2 if indent else None)
    return text if depth is None else relaid(text, depth)


def _audit(
    conn: sqlite3.Connection,
    actor: str,
    action: str,
    details: dict,
    as_of: str | None = None,
    alert_id: str | None = None,
) -> None:
    conn.execute(
        "INSERT INTO audit (at, actor, action, as_of, alert_id, details) VALUES (?, ?, ?, ?, ?, ?)",
        (now(), actor, action, as_of, alert_id, json.dumps(details, ensure_ascii=False)),
    )


def _migrate(conn: sqlite3.Connection) -> None:
    """Bring the schema up to date; each migration runs once, in order, in its own transaction."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
        conn.execute("BEGIN IMMEDIATE")
        if conn.execute("PRAGMA user_version").fetchone()[0] >= number:
            conn.execute("ROLLBACK")
            continue
        for statement in script.split(";\n"):
            if statement.strip():
                conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {number}")
        conn.execute("COMMIT")
