"""The store's rows as nightly scans up to a date would have left them, from the rule episodes of
the whole history (`evaluate(..., history=True)`) in one pass.

Nightly, an alert is raised on the first day its rule holds, carries on while it holds, is
resolved the day after it stops and is reopened if the rule holds again with a window starting
within REOPEN_DAYS of its last window's end. So a (rule, child)'s episodes in order form chains:
an episode joins the previous chain when its window as known on its first day (`opened`) starts
soon enough after that chain's last window ends. Each chain is one stored alert: its id from its
first episode, its content from its last, its status from where the date falls.

May import: alerts.lifecycle, alerts.model, engine.alert.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import groupby

from noncoop.alerts.lifecycle import REOPEN_DAYS, TRIAGE_FIELDS, content_of, resolved_note
from noncoop.alerts.model import STATUSES, StoredAlert, StoreUpdate
from noncoop.engine.alert import Alert


def first_scan(
    alerts: list[Alert],
    versions: dict[str, str],
    as_of: str,
    since: str | None = None,
    folded: list[Alert] = (),
) -> tuple[StoreUpdate, list[dict]]:
    """A new store's rows from the history's episodes, and what the scan reports: the alerts
    still holding are `new` to the store (whenever they began), the earlier ones are recorded as
    resolved (`history`), leaving out those resolved before `since`."""
    rows, active, earlier = [], [], []
    for alert, row in history_rows(alerts, versions, as_of, folded):
        if row["status"] == "resolved":
            if since and row["changed_as_of"] < since:
                continue
            earlier.append(StoredAlert.of(alert, row))
        else:
            active.append(StoredAlert.of(alert, row, "new"))
        rows.append(row)
    counts = dict.fromkeys((*STATUSES, "quiet"), 0)
    counts.update(new=len(active), history=len(earlier))
    return StoreUpdate(active, [], counts, history=earlier), rows


def history_rows(
    alerts: list[Alert], versions: dict[str, str], as_of: str, folded: list[Alert] = ()
) -> list[tuple[Alert, dict]]:
    """One store row per chain of episodes held on or before `as_of`, with its last episode.
    An episode followed the next day by a folded one (`folded`) was folded, not resolved."""
    # (rule, child, day) on which a folded episode began.
    into = {(f.rule_id, f.subject_id, f.held.start) for f in folded if f.held}
    episodes = sorted(
        (a for a in alerts if a.held and a.held.start <= as_of),
        key=lambda a: (a.rule_id, a.subject_id, a.held.start),
    )
    rows = []
    for (rule_id, _), same in groupby(episodes, key=lambda a: (a.rule_id, a.subject_id)):
        version = versions.get(rule_id, "")
        rows.extend((chain[-1], _row(chain, version, as_of, into)) for chain in _chains(list(same)))
    return rows


def _chains(episodes: list[Alert]) -> list[list[Alert]]:
    """One (rule, child)'s episodes, in order, cut where one starts too late to reopen the last."""
    chains = [[episodes[0]]]
    for episode in episodes[1:]:
        horizon = _day(chains[-1][-1].window.end) + timedelta(days=REOPEN_DAYS)
        if _day(episode.opened or episode.window.start) <= horizon:
            chains[-1].append(episode)
        else:
            chains.append([episode])
    return chains


def _row(chain: list[Alert], version: str, as_of: str, into: set) -> dict:
    """The chain's stored row on `as_of`, with its state before the night that last touched it."""
    last = chain[-1]
    row = {**content_of(last, chain[0].alert_id, version), "first_as_of": chain[0].held.start}
    if last.held.end < as_of:
        resolved = _next(last.held.end)
        row.update(
            _held(chain, last.held.end),
            status="resolved",
            changed_as_of=resolved,
            note=resolved_note(resolved, (last.rule_id, last.subject_id, resolved) in into),
            touched_as_of=resolved,
            prior=_prior(_held(chain, last.held.end), last),
        )
        return row
    row.update(_held(chain, as_of), touched_as_of=as_of, prior=_prior_live(chain, as_of, into))
    return row


def _held(chain: list[Alert], day: str) -> dict:
    """The lifecycle of a chain on a day its last episode holds."""
    started = chain[-1].held.start
    state = dict.fromkeys(("note", *TRIAGE_FIELDS))
    state.update(triage="open", changed_as_of=started, status="ongoing")
    if started == day:
        state["status"] = "new" if len(chain) == 1 else "reopened"
        state["note"] = None if len(chain) == 1 else f"reopened on {day}"
    return state


def _prior_live(chain: list[Alert], as_of: str, into: set) -> dict | None:
    """The state before tonight of a chain that holds tonight (none if tonight raised it)."""
    last = chain[-1]
    if last.held.start < as_of:
        return _prior(_held(chain, _previous(as_of)), last)
    if len(chain) == 1:
        return None
    before = chain[-2]
    resolved = _next(before.held.end)
    state = _held(chain[:-1], before.held.end)
    state.update(
        status="resolved",
        changed_as_of=resolved,
        note=resolved_note(resolved, (before.rule_id, before.subject_id, resolved) in into),
    )
    return _prior(state, before)


def _prior(state: dict, alert: Alert) -> dict:
    return {
        **{k: state[k] for k in ("status", "note", "changed_as_of", *TRIAGE_FIELDS)},
        "window_start": alert.window.start,
        "window_end": alert.window.end,
    }


def _day(iso: str) -> date:
    return date.fromisoformat(iso[:10])


def _next(iso: str) -> str:
    return (_day(iso) + timedelta(days=1)).isoformat()


def _previous(iso: str) -> str:
    return (_day(iso) - timedelta(days=1)).isoformat()
