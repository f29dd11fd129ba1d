"""The run log in the workspace: ids and counts only, never names or free text."""

from __future__ import annotations

import logging

from noncoop.store.workspace import Workspace


def configure_logging(ws: Workspace) -> None:
    """Run log in the workspace (ids and counts only, never names or free text)."""
    logger = logging.getLogger("noncoop")
    for handler in list(logger.handlers):
        logger.removeHandler(handler)
        handler.close()
    ws.root.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(ws.root / "noncoop.log", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    logger.propagate = False
