"""The alert store: every alert episode with its lifecycle and triage, and an append-only audit.

One SQLite file in the workspace (WAL). A scan's alerts are matched to the episodes already held
(rule, subject, episode), so a pattern that persists is the same alert night after night. Each
row also keeps its state from before the last night that touched it, so re-running that night
starts from the same place and changes nothing.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path

import pandas as pd

from noncoop.vocab import LEVELS, as_pattern_tag, pattern_tag

ACTIVE = ("new", "ongoing", "reopened")
STATUSES = (*ACTIVE, "resolved")
TRIAGE = ("open", "acknowledged", "closed", "snoozed")
QUIET = ("closed", "snoozed")
REOPEN_DAYS = 30  # an alert back within this many days of its last window is the same episode
TRIAGE_FIELDS = (
    "triage",
    "triage_by",
    "triage_reason",
    "triage_at",
    "snoozed_until",
    "triage_evidence",
)
LIFECYCLE = ("status", "note", "changed_as_of", *TRIAGE_FIELDS)
CONTENT = (
    "rule_version",
    "household_id",
    "title",
    "level",
    "pattern",
    "tags",
    "window_start",
    "window_end",
    "explanation",
    "evidence",
    "guidance",
    "actions",
)
COLUMNS = (
    "alert_id",
    "rule_id",
    "subject_id",
    *CONTENT,
    *LIFECYCLE,
    "first_as_of",
    "touched_as_of",
    "prior",
)
JSON_COLUMNS = ("tags", "evidence", "guidance", "actions", "triage_evidence")
# What a re-run of a night needs of a row's state before that night (content comes from the run).
PRIOR = (*LIFECYCLE, "window_start", "window_end")

MIGRATIONS = (
    f"""
    CREATE TABLE alerts (
        alert_id TEXT PRIMARY KEY,
        rule_id TEXT NOT NULL,
        subject_id TEXT NOT NULL,
        {", ".join(f"{c} TEXT" for c in CONTENT)},
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
)


class StoreError(RuntimeError):
    """A request the store cannot carry out (unknown alert, back-fill out of order)."""


@dataclass
class StoreUpdate:
    """What one scan did to the store: the alerts as stored now, and the counts by outcome."""

    alerts: list[dict]
    resolved: list[str]
    counts: dict[str, int] = field(default_factory=dict)

    def summary(self) -> str:
        """'3 new, 10 ongoing, 0 reopened, 1 resolved, 2 quiet', for the terminal and the log."""
        return ", ".join(f"{n:,} {k}" for k, n in self.counts.items())


def now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


class AlertStore:
    """The SQLite alert store of one workspace."""

    def __init__(self, path: Path):
        self.path = Path(path)

    @contextmanager
    def connect(self) -> Iterator[sqlite3.Connection]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path, timeout=30, isolation_level=None)) as conn:
            conn.row_factory = sqlite3.Row
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=FULL")
            _migrate(conn)
            yield conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """All or nothing: killed at any point, the store is as before or as after."""
        with self.connect() as conn:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    # runs -----------------------------------------------------------------------------------
    def last_as_of(self) -> str | None:
        """The latest date a scan has been recorded for."""
        if not self.path.exists():
            return None
        with self.connect() as conn:
            return _last_scan(conn)

    def check_as_of(self, as_of: str) -> None:
        """Refuse a scan dated before the last one: back-filling must go forward in date order."""
        _refuse_earlier(self.last_as_of(), as_of)

    def record_scan(
        self, alerts: list[dict], versions: dict[str, str], as_of: str, run: dict, actor: str
    ) -> StoreUpdate:
        """Match a scan's alerts to the stored episodes, update them and audit the run, at once."""
        with self.transaction() as conn:
            _refuse_earlier(_last_scan(conn), as_of)  # again, inside the transaction
            stored = _read_frame(conn)
            update, rows, dropped = reconcile(stored, alerts, versions, as_of)
            conn.executemany("DELETE FROM alerts WHERE alert_id = ?", [(a,) for a in dropped])
            _write_alerts(conn, rows)
            details = {**run, "alerts": update.counts, "resolved": len(update.resolved)}
            _audit(conn, actor, "scan", details, as_of=as_of)
        return update

    # triage -----------------------------------------------------------------------------------
    def triage(
        self,
        alert_id: str,
        action: str,
        by: str,
        reason: str,
        until: date | None = None,
    ) -> dict:
        """Acknowledge, close or snooze an alert; the reason and who did it go to the audit."""
        if not by.strip() or not reason.strip():
            raise StoreError("a name (--by) and a reason (--reason) are required")
        state = {"ack": "acknowledged", "close": "closed", "snooze": "snoozed"}[action]
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
    def get(self, alert_id: str) -> dict:
        self._require()
        with self.connect() as conn:
            row = conn.execute("SELECT * FROM alerts WHERE alert_id = ?", (alert_id,)).fetchone()
        if row is None:
            raise StoreError(f"no alert {alert_id} in this workspace")
        return _public(dict(row))

    def list(
        self,
        status: Iterable[str] = ACTIVE,
        triage: Iterable[str] = ("open", "acknowledged"),
        level: Iterable[str] = (),
        pattern: str | None = None,
        subject: str | None = None,
        since: str | None = None,
    ) -> list[dict]:
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
        with self.connect() as conn:
            rows = conn.execute(
                f"SELECT * FROM alerts WHERE {' AND '.join(where)} "
                f"ORDER BY {order} ELSE 9 END, rule_id, subject_id, alert_id",
                args,
            ).fetchall()
        return [_public(dict(r)) for r in rows]

    def audit(self) -> list[dict]:
        if not self.path.exists():
            return []
        with self.connect() as conn:
            rows = conn.execute("SELECT * FROM audit ORDER BY seq").fetchall()
        return [{**dict(r), "details": json.loads(r["details"])} for r in rows]


def reconcile(
    stored: pd.DataFrame, alerts: list[dict], versions: dict[str, str], as_of: str
) -> tuple[StoreUpdate, list[dict], list[str]]:
    """The store's rows after a scan as of `as_of`: matched, new, reopened and resolved episodes.

    Works from each row's state before the night being scanned, so a re-run of that night gives
    the same rows. Returns the update, the rows to write and the ids of rows to drop (episodes
    that only a previous run of this same night had created).
    """
    base = _baseline(stored, as_of)
    absent = base[base["absent"]]
    dropped = absent["alert_id"].tolist()
    base = base[~base["absent"]]
    found = pd.DataFrame(
        {
            "i": range(len(alerts)),
            "rule_id": [a["rule_id"] for a in alerts],
            "subject_id": [a["subject_id"] for a in alerts],
            "start": [a["window"]["start"] for a in alerts],
        },
    ).astype({"rule_id": object, "subject_id": object, "start": object})
    key = ["rule_id", "subject_id"]
    active = base[base["status"].isin(ACTIVE)]
    matched = found.merge(active[[*key, "alert_id"]], on=key, how="left")
    # Not active: the latest resolved episode takes it back if it returns soon enough.
    resolved = base[base["status"] == "resolved"].sort_values("window_end")
    latest = resolved.drop_duplicates(key, keep="last")[[*key, "alert_id", "window_end"]]
    back = matched[matched["alert_id"].isna()].drop(columns="alert_id").merge(latest, on=key)
    horizon = pd.to_datetime(back["window_end"]) + pd.Timedelta(days=REOPEN_DAYS)
    back = back[pd.to_datetime(back["start"]) <= horizon]
    reopened_ids = dict(zip(back["i"], back["alert_id"], strict=True))
    matched["alert_id"] = matched["alert_id"].fillna(matched["i"].map(reopened_ids))
    # A new episode keeps the id the evaluation gave it: rule, child and first window start.
    fresh = matched["alert_id"].isna()
    matched.loc[fresh, "alert_id"] = [alerts[i]["alert_id"] for i in matched.loc[fresh, "i"]]
    by_id = {r["alert_id"]: r for r in base.to_dict("records")}
    # Triage given to an episode that only an earlier run of this night had created carries over.
    carried = {r["alert_id"]: r for r in absent.to_dict("records")}
    # What this run reports is measured against the store as it is now, so a second scan of the
    # same night reports nothing new even though it writes the same rows as the first.
    now = stored.set_index("alert_id")[["status", "changed_as_of"]].to_dict("index")
    rows, out, counts = [], [], dict.fromkeys((*STATUSES, "quiet"), 0)
    for i, alert_id in zip(matched["i"], matched["alert_id"], strict=True):
        version = versions.get(alerts[i]["rule_id"], "")
        before, kept = by_id.get(alert_id), carried.get(alert_id)
        row = _found_row(alerts[i], alert_id, version, before, kept, as_of)
        rows.append(row)
        status = _reported(row, now.get(alert_id))
        counts["quiet" if row["triage"] in QUIET else status] += 1
        out.append({**_public(row), "status": status})
    # Only the rules this run evaluated can resolve their alerts: a run with part of the pack
    # (an analyst trying one rule) leaves every other alert as it is.
    gone = active[~active["alert_id"].isin(matched["alert_id"]) & active["rule_id"].isin(versions)]
    for before in gone.to_dict("records"):
        row = {**before, "status": "resolved", "changed_as_of": as_of}
        row["note"] = f"resolved on {as_of}: the evidence no longer meets the rule"
        rows.append(_touched(row, before, as_of))
    resolved = [a for a in gone["alert_id"] if now.get(a, {}).get("status") != "resolved"]
    counts["resolved"] = len(resolved)
    return StoreUpdate(out, resolved, counts), rows, dropped


def _last_scan(conn: sqlite3.Connection) -> str | None:
    return conn.execute("SELECT MAX(as_of) FROM audit WHERE action = 'scan'").fetchone()[0]


def _refuse_earlier(last: str | None, as_of: str) -> None:
    if last is not None and as_of < last:
        raise StoreError(
            f"the alert store already holds a scan as of {last}; scans must go forward in "
            f"date order, so --as-of {as_of} is refused (back-fill into a new workspace)"
        )


def _reported(row: dict, now: dict | None) -> str:
    """The alert's status for this run: `ongoing` if the store already said what it says now."""
    unchanged = now is not None and (now["status"], now["changed_as_of"]) == (
        row["status"],
        row["changed_as_of"],
    )
    return "ongoing" if unchanged and row["status"] in ACTIVE else row["status"]


def _found_row(
    alert: dict,
    alert_id: str,
    version: str,
    before: dict | None,
    carried: dict | None,
    as_of: str,
) -> dict:
    """The stored row for an alert found tonight, its lifecycle moved on from `before`."""
    content = {
        "alert_id": alert_id,
        "rule_id": alert["rule_id"],
        "subject_id": alert["subject_id"],
        "rule_version": version,
        "household_id": alert["household_id"],
        "title": alert["title"],
        "level": alert["level"],
        "pattern": pattern_tag(alert["tags"]),
        "tags": alert["tags"],
        "window_start": alert["window"]["start"],
        "window_end": alert["window"]["end"],
        "explanation": alert["explanation"],
        "evidence": alert["evidence"],
        "guidance": alert["guidance"],
        "actions": alert["actions"],
    }
    if before is None:
        lifecycle = dict.fromkeys(LIFECYCLE)
        lifecycle.update(status="new", changed_as_of=as_of, triage="open")
        if carried is not None:
            lifecycle.update({k: carried[k] for k in TRIAGE_FIELDS})
        row = {**content, **lifecycle, "first_as_of": as_of, "touched_as_of": as_of}
        row["prior"] = None
    else:
        lifecycle = {k: before[k] for k in LIFECYCLE}
        if before["status"] == "resolved":
            lifecycle.update(status="reopened", changed_as_of=as_of, note=f"reopened on {as_of}")
        else:
            lifecycle.update(status="ongoing", note=None)
        row = _touched(
            {**content, **lifecycle, "first_as_of": before["first_as_of"]}, before, as_of
        )
    _wake(row, alert, as_of)
    return row


def _wake(row: dict, alert: dict, as_of: str) -> None:
    """A closed or snoozed alert speaks again when new evidence arrives or the snooze ends."""
    triage = row["triage"]
    if triage not in QUIET:
        return
    known = set(row["triage_evidence"] or [])
    new = [e["event_id"] for e in alert["evidence"] if e["event_id"] not in known]
    if new:
        row.update(
            status="reopened",
            changed_as_of=as_of,
            triage="open",
            note=f"reopened on {as_of}: {len(new)} new record(s) since {triage} by "
            f"{row['triage_by']} on {str(row['triage_at'])[:10]}",
        )
    elif triage == "snoozed" and row["snoozed_until"] and row["snoozed_until"] < as_of:
        row.update(triage="open", note=f"snooze by {row['triage_by']} ended {row['snoozed_until']}")


def _touched(row: dict, before: dict, as_of: str) -> dict:
    """Mark the row as touched tonight, keeping the state it had before tonight."""
    row["prior"] = {k: before[k] for k in PRIOR}
    row["touched_as_of"] = as_of
    return row


def _baseline(stored: pd.DataFrame, as_of: str) -> pd.DataFrame:
    """Each stored row as it stood before the night `as_of` (itself, unless that night touched it).

    A row that night created has no earlier state: it is marked absent.
    """
    base = stored.copy()
    again = base["touched_as_of"] == as_of
    base["absent"] = again & base["prior"].isna()
    restore = again & base["prior"].notna()
    if restore.any():
        priors = pd.DataFrame(
            base.loc[restore, "prior"].tolist(), index=base.index[restore], dtype=object
        )
        base.loc[restore, priors.columns] = priors
    return base


def _read_frame(conn: sqlite3.Connection) -> pd.DataFrame:
    rows = [dict(r) for r in conn.execute("SELECT * FROM alerts ORDER BY alert_id")]
    # Plain Python objects throughout: a text column with gaps must keep None, never become NaN.
    frame = pd.DataFrame(rows, columns=list(COLUMNS), dtype=object)
    # Only what reconciling reads is parsed; the rest stays JSON text and is written back as is.
    for column in ("triage_evidence", "prior"):
        frame[column] = [json.loads(v) if isinstance(v, str) else None for v in frame[column]]
    return frame.reset_index(drop=True)


def _write_alerts(conn: sqlite3.Connection, rows: list[dict]) -> None:
    placeholders = ", ".join("?" * len(COLUMNS))
    conn.executemany(
        f"INSERT OR REPLACE INTO alerts ({', '.join(COLUMNS)}) VALUES ({placeholders})",
        [
            tuple(
                json.dumps(r[c], ensure_ascii=False)
                if c in (*JSON_COLUMNS, "prior") and r[c] is not None and not isinstance(r[c], str)
                else r[c]
                for c in COLUMNS
            )
            for r in rows
        ],
    )


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


def _public(row: dict) -> dict:
    """An alert as the JSON contract and the CLI show it, with its lifecycle and triage."""
    parse = lambda v: json.loads(v) if isinstance(v, str) else v  # noqa: E731
    return {
        "alert_id": row["alert_id"],
        "rule_id": row["rule_id"],
        "rule_version": row["rule_version"],
        "title": row["title"],
        "level": row["level"],
        "tags": parse(row["tags"]),
        "subject_id": row["subject_id"],
        "household_id": row["household_id"],
        "window": {"start": row["window_start"], "end": row["window_end"]},
        "explanation": row["explanation"],
        "evidence": parse(row["evidence"]),
        "guidance": parse(row["guidance"]),
        "actions": parse(row["actions"]),
        "status": row["status"],
        "note": row["note"],
        "first_as_of": row["first_as_of"],
        "changed_as_of": row["changed_as_of"],
        "last_as_of": row["touched_as_of"],
        "triage": {
            "state": row["triage"],
            "by": row["triage_by"],
            "reason": row["triage_reason"],
            "at": row["triage_at"],
            "until": row["snoozed_until"],
        },
    }
