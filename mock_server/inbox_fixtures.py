"""A fixture set's inbox (inbox.yaml): the notifications users already have when the mock starts.

Each entry names a user and a template; the row's title, content and actions are the template's,
rendered as delivery renders them (labels, data, the user's name, username and e-mail, and
`base_url` = `deployment.DEFAULT_ACCESS_URL`), so the bell shows what Coder would have delivered.

Times are relative: `ago: 2h` means two hours before the *anchor*, the start of the UTC hour in
which the fixture set is loaded. They are computed once per load, so `reset` returns to the same
rows with the same timestamps, and every fixture row is older than anything delivered later. The
anchor is a whole hour so that processes sharing one Redis state, each loading the set a few
milliseconds apart, compute the same timestamps (and a reset through either writes the same rows).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from mock_server import gotemplate, wire
from mock_server.delivery import ONE_TIME_PASSCODE
from mock_server.models import Template, User

DURATION = r"^(?=\d)(\d+d)?(\d+h)?(\d+m)?(\d+s)?$"  # 45m, 2h, 3d, 1d2h30m
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


class InboxEntryError(ValueError):
    """One entry of inbox.yaml that cannot become a row; `place` is where (`inbox/3/user`)."""

    def __init__(self, place: str, message: str) -> None:
        super().__init__(f"{place}: {message}")
        self.place = place


def anchor(now: datetime) -> datetime:
    """The moment `ago` counts back from: the start of `now`'s UTC hour."""
    return now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def parse_duration(text: str) -> timedelta:
    """`1d2h30m`-style text (days, hours, minutes, seconds, in that order) as a timedelta."""
    if not re.fullmatch(DURATION, text):
        raise ValueError(f"{text!r} is not a duration like 45m, 2h, 3d or 1d2h30m")
    return timedelta(seconds=sum(int(n) * _UNITS[unit]
                                 for n, unit in re.findall(r"(\d+)([dhms])", text)))


def inbox_rows(entries: Sequence[Mapping[str, Any]], users: Sequence[User],
               templates: Sequence[Template], now: datetime) -> tuple[dict[str, Any], ...]:
    """The inbox rows (codersdk.InboxNotification JSON, icon "") the entries describe.

    `entries` passed the schema already; what it cannot check (the user and template exist, ids
    are unique, the template renders with the entry's labels) raises InboxEntryError.
    """
    from mock_server.deployment import DEFAULT_ACCESS_URL  # deployment loads fixture sets

    by_name = {user.username: user for user in users}
    by_id = {template.id: template for template in templates}
    start = anchor(now)
    seen: dict[UUID, str] = {}
    rows = []
    for index, entry in enumerate(entries):
        place = f"inbox/{index}"
        row_id = _unique_id(place, entry, seen)
        user = _user(place, entry, by_name)
        template = _template(place, entry, by_id)
        ago = _age(place, entry)
        texts = _render(place, template, user, entry, DEFAULT_ACCESS_URL)
        created = start - ago
        read_at = wire.format_time(created + ago // 2) if entry["read"] else None
        rows.append({"id": str(row_id), "user_id": str(user.id),
                     "template_id": str(template.id),
                     "targets": [str(UUID(target)) for target in entry.get("targets", [])],
                     **texts, "icon": "", "read_at": read_at,
                     "created_at": wire.format_time(created)})
    return tuple(rows)


def _unique_id(place: str, entry: Mapping[str, Any], seen: dict[UUID, str]) -> UUID:
    """The entry's id, remembered in `seen`; an id already there names where it was first."""
    row_id = UUID(entry["id"])
    if row_id in seen:
        raise InboxEntryError(f"{place}/id", f"id {str(row_id)!r} is already at "
                              f"{seen[row_id]}; each must be unique")
    seen[row_id] = f"{place}/id"
    return row_id


def _user(place: str, entry: Mapping[str, Any], by_name: Mapping[str, User]) -> User:
    """The fixture user the entry names; an unknown one lists the users there are."""
    user = by_name.get(entry["user"])
    if user is None:
        raise InboxEntryError(f"{place}/user", f"no such user {entry['user']!r}; users are "
                              f"{', '.join(sorted(by_name))}")
    return user


def _template(place: str, entry: Mapping[str, Any], by_id: Mapping[UUID, Template]) -> Template:
    """The template the entry names, if Coder would ever put it in an inbox."""
    template = by_id.get(UUID(entry["template"]))
    if template is None:
        raise InboxEntryError(f"{place}/template", f"{entry['template']} names no template "
                              "in templates.yaml")
    if template.id == ONE_TIME_PASSCODE:
        raise InboxEntryError(f"{place}/template", "the One-Time Passcode is never sent to "
                              "the inbox (Coder delivers it by e-mail only)")
    return template


def _age(place: str, entry: Mapping[str, Any]) -> timedelta:
    """How long before the anchor the row was created; never 0, so later deliveries are newer."""
    ago = parse_duration(entry["ago"])
    if not ago:
        raise InboxEntryError(f"{place}/ago", "must be more than 0s, so that the fixture "
                              "rows are older than anything delivered later")
    return ago


def _render(place: str, template: Template, user: User, entry: Mapping[str, Any],
            base_url: str) -> dict[str, Any]:
    """Title, content and actions as delivery renders them; a `<no value>` is a missing label."""
    payload = gotemplate.Payload(labels=entry["labels"], data=entry.get("data", {}),
                                 user_name=user.name, user_username=user.username,
                                 user_email=user.email, base_url=base_url)
    named = f"template {template.name!r} ({template.id})"
    try:
        texts = {"title": gotemplate.render(template.title_template, payload),
                 "content": gotemplate.render(template.body_template, payload),
                 "actions": gotemplate.render_actions(template.actions, payload)}
    except gotemplate.TemplateError as exc:
        raise InboxEntryError(place, f"{named} does not render: {exc}") from None
    for part in ("title", "content", "actions"):
        if gotemplate.NO_VALUE in str(texts[part]):
            raise InboxEntryError(f"{place}/labels", (
                f"{named} renders {gotemplate.NO_VALUE!r} in its {part}: give every label (and "
                "data field) it uses; labels are "
                f"{', '.join(sorted(entry['labels'])) or 'none'}"))
    return texts
