"""The inbox as Coder shows it: query parameters read as httpapi.QueryParamParser reads them,
filters, the fixed page of 25 newest first, the unread count, and the fallback icons.

Both the REST list and the watch socket read their parameters here, so a bad value gets the
same 400 from either; the rows themselves live in the store (state/).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import parse_qsl

from mock_server import errors, wire
from mock_server.state.model import InboxRow, created_at

PAGE_SIZE = 25  # GetFilteredInboxNotificationsByUserID: COALESCE(NULLIF(limit, 0), 25)
READ_STATUSES = ("all", "read", "unread")
BAD_READ_STATUS = "starting_before query parameter should be any of 'all', 'read', 'unread'."
INVALID_PARAMETERS = "Query parameters have invalid values."
LIST_PARAMETERS = ("targets", "templates", "read_status", "starting_before")
WATCH_PARAMETERS = ("targets", "templates", "read_status", "format")

# codersdk's InboxNotificationFallbackIcon*, by template (coderd/inboxnotifications.go)
WORKSPACE, ACCOUNT, TEMPLATE, OTHER = (f"DEFAULT_ICON_{kind}"
                                       for kind in ("WORKSPACE", "ACCOUNT", "TEMPLATE", "OTHER"))
_ICONS = {
    WORKSPACE: ("281fdf73-c6d6-4cbb-8ff5-888baf8a2fff", "d089fe7b-d5c5-4c0c-aaf5-689859f7d392",
                "f517da0b-cdc9-410f-ab89-a86107c420ed", "381df2a9-c0c0-4749-420f-80a9280c66f9",
                "0ea69165-ec14-4314-91f1-69566ac3c5a0", "c34a0c09-0704-4cac-bd1c-0c0146811c2b",
                "51ce2fdf-c9ca-4be1-8d70-628674f9bc42", "2faeee0f-26cb-4e96-821c-85ccb9f71513",
                "a9d027b4-ac49-4fb1-9f6d-45af15f64e7a", "f047f6a3-5713-40f7-85aa-0394cce9fa3a"),
    ACCOUNT: ("4e19c0ac-94e1-4532-9515-d1801aa283b2", "f44d9314-ad03-4bc8-95d0-5cad491da6b6",
              "b02ddd82-4733-4d02-a2d7-c36f3598997d", "9f5af851-8408-4e73-a7a1-c6502ba46689",
              "6a2f0609-9b69-4d36-a989-9f5925b6cbff", "1a6a6bea-ee0a-43e2-9e7c-eabdb53730e4",
              "62f86a30-2330-4b61-a26d-311ff3b608cf"),
    TEMPLATE: ("29a09665-2a4c-403f-9648-54301670e7be", "f40fae84-55a2-42cd-99fa-b41c1ca64894",
               "34a20db2-e9cc-4a93-b0e4-8569699d7a00"),
}
FALLBACK_ICONS = {template: icon for icon, templates in _ICONS.items() for template in templates}


@dataclass(frozen=True, slots=True)
class InboxQuery:
    """What a list or watch call asks for; the defaults are Coder's."""

    targets: tuple[str, ...] = ()  # every one must be among a row's targets
    templates: tuple[str, ...] = ()  # a row's template must be one of them
    read_status: str = "all"
    starting_before: str | None = None
    plaintext: bool = False  # watch only: format=plaintext

    def matches(self, row: InboxRow) -> bool:
        """The SQL filter: templates any-of, targets all-of, read status."""
        if self.templates and row["template_id"] not in self.templates:
            return False
        if self.targets and not set(self.targets) <= set(row["targets"] or ()):
            return False
        if self.read_status == "unread":
            return row["read_at"] is None
        return self.read_status != "read" or row["read_at"] is not None


def parse_query(query_string: bytes, allowed: Sequence[str]) -> InboxQuery:
    """Read the parameters as Coder does, raising Coder's 400 for the first kind of mistake."""
    values: dict[str, list[str]] = {}
    for name, value in parse_qsl(query_string.decode("latin-1"), keep_blank_values=True):
        values.setdefault(name, []).append(value)
    problems: list[dict[str, str]] = []
    lists = {name: _uuid_list(name, values.get(name, []), problems)
             for name in ("targets", "templates")}
    read_status = _single("read_status", values, problems) or "all"
    output = _single("format", values, problems) if "format" in allowed else ""  # never checked
    before = _single("starting_before", values, problems) if "starting_before" in allowed else ""
    if before:
        try:
            before = str(wire.parse_uuid(before))
        except ValueError:
            problems.append({"field": "starting_before",
                             "detail": 'Query param "starting_before" must be a valid uuid'})
    problems += [{"field": name, "detail": f"{wire.quote(name)} is not a valid query param"}
                 for name in values if name not in allowed]
    if problems:
        raise errors.CoderError(400, INVALID_PARAMETERS, validations=problems)
    if read_status not in READ_STATUSES:
        raise errors.CoderError(400, BAD_READ_STATUS)
    plaintext = output == "plaintext"  # any other format means Markdown
    return InboxQuery(targets=lists["targets"], templates=lists["templates"],
                      read_status=read_status, starting_before=before or None,
                      plaintext=plaintext)


def _uuid_list(name: str, raw: list[str], problems: list[dict[str, str]]) -> tuple[str, ...]:
    """Comma-separated (and repeatable) UUIDs; an empty value is no filter."""
    parsed, failures = [], []
    for item in (part.strip() for value in raw if value for part in value.split(",")):
        try:
            parsed.append(str(wire.parse_uuid(item)))
        except ValueError as exc:
            failures.append(str(exc))
    if failures:
        problems.append({"field": name, "detail": f"Query param {wire.quote(name)} has invalid "
                                                  f"values: {chr(10).join(failures)}"})
    return tuple(parsed)


def _single(name: str, values: dict[str, list[str]], problems: list[dict[str, str]]) -> str:
    """A parameter that may appear once; empty counts as absent."""
    given = values.get(name, [])
    if len(given) > 1:
        problems.append({"field": name, "detail": (
            f"Query param {wire.quote(name)} provided more than once, found {len(given)} times. "
            "Only provide 1 instance of this query param.")})
        return ""
    return given[0] if given else ""


def page(rows: Sequence[InboxRow], query: InboxQuery) -> list[InboxRow]:
    """Up to 25 matching rows created before the cursor row (if it is the user's), newest first."""
    cutoff: datetime | None = None
    if query.starting_before is not None:
        cursor = next((row for row in rows if row["id"] == query.starting_before), None)
        cutoff = created_at(cursor) if cursor is not None else None
    chosen = [row for row in reversed(rows)
              if query.matches(row) and (cutoff is None or created_at(row) < cutoff)]
    return [with_icon(row) for row in chosen[:PAGE_SIZE]]


def unread_count(rows: Iterable[InboxRow]) -> int:
    """Every unread row of the user, whatever the filters."""
    return sum(1 for row in rows if row["read_at"] is None)


def with_icon(row: InboxRow) -> InboxRow:
    """An empty stored icon becomes the template's fallback (DEFAULT_ICON_OTHER otherwise)."""
    if row["icon"]:
        return row
    return {**row, "icon": FALLBACK_ICONS.get(row["template_id"], OTHER)}

