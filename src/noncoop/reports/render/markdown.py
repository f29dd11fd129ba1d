"""Markdown tables, escaped so a cell's text can never break the table."""

from __future__ import annotations


def md_table(headers: list[str], rows: list[list]) -> list[str]:
    """Lines of a Markdown table, followed by a blank line."""

    def cell(value: object) -> str:
        return str(value).replace("|", "\\|").replace("\n", " ")

    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines += ["| " + " | ".join(cell(v) for v in row) + " |" for row in rows]
    return [*lines, ""]
