"""Eval history: one record per run in a SQLite file under the data directory.

Tomorrow's run reads it to say what got worse. Records of one suite (gold file and mode) are compared
with each other only, and among those only runs with the same settings fingerprint (see eval/run.py).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

SCHEMA = [  # append-only: a new column is a new entry, never an edit of an old one
    """CREATE TABLE IF NOT EXISTS runs (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        suite TEXT NOT NULL,
        date TEXT NOT NULL,
        git_commit TEXT,
        fingerprint TEXT NOT NULL,
        versions TEXT NOT NULL,
        metrics TEXT NOT NULL,
        outcomes TEXT NOT NULL
    )""",
]


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path)
    for statement in SCHEMA:
        db.execute(statement)
    return db


def previous_runs(path: Path, suite: str, limit: int = 60) -> list[dict[str, Any]]:
    """Earlier runs of `suite`, oldest first (at most `limit`)."""
    if not path.exists():
        return []
    with _connect(path) as db:
        rows = db.execute(
            "SELECT date, git_commit, fingerprint, metrics, outcomes FROM runs"
            " WHERE suite = ? ORDER BY id DESC LIMIT ?",
            (suite, limit),
        ).fetchall()
    return [
        {"date": d, "commit": c, "fingerprint": f, "metrics": json.loads(m), "outcomes": json.loads(o)}
        for d, c, f, m, o in reversed(rows)
    ]


def record_run(path: Path, suite: str, run: dict[str, Any], metrics: dict[str, Any], outcomes: dict[str, Any]) -> None:
    """Append this run."""
    with _connect(path) as db:
        db.execute(
            "INSERT INTO runs (suite, date, git_commit, fingerprint, versions, metrics, outcomes)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                suite,
                run["date"],
                run["commit"],
                run["fingerprint"],
                json.dumps(run["versions"]),
                json.dumps(metrics),
                json.dumps(outcomes),
            ),
        )
