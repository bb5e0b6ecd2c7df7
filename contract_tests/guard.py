"""Leave the server as found: record what the suite may change, write only that, put it back.

Coder has no API to delete a stored preference, so the suite writes only templates a user
already has a preference for. With `allow_new_preferences` it may store a few new ones (always
the same few, so repeated runs add nothing); at the end those are set to the value that behaves
like no preference at all (and reported), since they cannot be removed.

The owner's inbox: every unread notification is recorded, and the read ones of the first page.
A notification recorded unread is put back exactly (`read_at` null again); one recorded read that
is unread at the end is marked read again, and its `read_at` is then the time of the restore (so
is that of a read one the suite re-marked). Template methods are recorded too; a method of `""`
cannot be put back through the API (`""` is refused), so the suite never changes those.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from contract_tests.client import PAGE_SIZE, RESTORE, Api, InboxPage
from contract_tests.facts import Facts, Identity

NEW_PREFERENCES = 3  # a real server keeps every preference the suite stores, so store few
UNREAD_PAGES = 8  # the unread notifications recorded: at most 8 pages of 25


@dataclass
class InboxRecord:
    """The owner's read states: every unread notification (when `complete`), and the read_at of
    read ones the suite may touch."""

    unread: set[str]
    read_at: dict[str, str]
    complete: bool
    moved: set[str] = field(default_factory=set)  # read ones re-marked: their read_at moved
    put_back: set[str] = field(default_factory=set)  # unread ones marked unread again by restore

    def remember(self, items: Iterable[dict[str, Any]]) -> None:
        """Record notifications not recorded yet (delivered during the run) as they are now."""
        for item in items:
            if item["id"] not in self.unread and item["id"] not in self.read_at:
                if item["read_at"] is None:
                    self.unread.add(item["id"])
                else:
                    self.read_at[item["id"]] = item["read_at"]


@dataclass
class Snapshot:
    """Settings, the preferences of each user the suite may write, the owner's read states
    (None when the server has no inbox) and every system template's method."""

    paused: bool
    preferences: dict[str, dict[str, bool]]
    inbox: InboxRecord | None = None
    methods: dict[str, str] = field(default_factory=dict)


@dataclass
class StateGuard:
    """Records the state before the first test and restores it after the last (or on demand)."""

    owner: Api
    facts: Facts
    allow_new_preferences: bool
    before: Snapshot | None = None
    created: dict[str, set[str]] = field(default_factory=dict)

    @property
    def users(self) -> list[Identity]:
        """The users whose preferences the suite writes: the owner and, if known, the member."""
        return [user for user in (self.facts.owner, self.facts.member) if user is not None]

    def record(self) -> Snapshot:
        """Read the state the run must leave behind."""
        paused = self.owner.settings().expect_status(200).json()["notifier_paused"]
        preferences = {user.id: self.owner.stored_preferences(user.id)
                       for user in self.users}
        methods = {t["id"]: t["method"] for t in self.owner.templates().expect_status(200).json()}
        self.before = Snapshot(paused=paused, preferences=preferences, inbox=self._read_inbox(),
                               methods=methods)
        return self.before

    def _read_inbox(self) -> InboxRecord | None:
        """Every unread notification of the owner (up to UNREAD_PAGES pages) and the read ones
        of the first page; None when the server has no inbox (older than March 2025)."""
        first = self.owner.inbox(validate=False)
        if first.status == 404:
            return None
        page = InboxPage.of(first.expect_status(200))
        unread = self.owner.inbox_walk(UNREAD_PAGES, read_status="unread")
        return InboxRecord(
            unread={i for p in unread for i in p.ids},
            read_at={i["id"]: i["read_at"] for i in page.items if i["read_at"] is not None},
            complete=len(unread[-1].items) < PAGE_SIZE)

    @property
    def inbox(self) -> InboxRecord | None:
        """The owner's recorded read states."""
        assert self.before is not None, "record() first"
        return self.before.inbox

    def writable(self, user: Identity) -> tuple[str, ...]:
        """Template ids the suite may write for `user`: those it can restore exactly, and with
        `allow_new_preferences` up to NEW_PREFERENCES more (the same ones every run)."""
        assert self.before is not None, "record() first"
        existing = sorted(self.before.preferences.get(user.id, {}))
        if not self.allow_new_preferences:
            return tuple(existing)
        new = [tid for tid in sorted(self.facts.template_ids) if tid not in existing]
        return tuple(existing + new[:NEW_PREFERENCES])

    def restore(self) -> list[str]:
        """Put settings, preferences, the owner's read states and template methods back; return
        what was done, for the report (read states: final_notes())."""
        assert self.before is not None, "record() first"
        done = []
        if self.owner.settings().expect_status(200).json()["notifier_paused"] != self.before.paused:
            self.owner.put_settings(self.before.paused).expect_status(200, 304)
            done.append(f"settings: notifier_paused back to {self.before.paused}")
        for user in self.users:
            done.extend(self._restore_preferences(user))
        self.restore_read_states()
        done.extend(self.restore_methods())
        return done

    def restore_read_states(self) -> None:
        """Put the owner's recorded read states back (final_notes() reports what was done)."""
        record = self.inbox
        if record is None:
            return
        now_unread = {i for p in self.owner.inbox_walk(UNREAD_PAGES, read_status="unread")
                      for i in p.ids}
        for notification_id in sorted(record.unread - now_unread):
            self.owner.set_read(notification_id, False).expect_status(200)
        record.put_back.update(record.unread - now_unread)
        reread = sorted(now_unread & set(record.read_at))
        for notification_id in reread:
            self.owner.set_read(notification_id, True).expect_status(200)
        record.moved.update(reread)

    def final_notes(self, sent: int) -> list[str]:
        """What the run left that it cannot put back, for the report; `sent` notifications were
        accepted for delivery."""
        record = self.inbox
        notes = []
        if record is not None and record.put_back:
            notes.append(f"inbox of {self.facts.owner.username}: {len(record.put_back)} "
                         "notification(s) the run marked read were marked unread again "
                         "(read_at null, as recorded)")
        if record is not None and record.moved:
            notes.append(f"inbox of {self.facts.owner.username}: {len(record.moved)} "
                         "notification(s) recorded read were marked read again; their read_at "
                         "is now a time of this run, not the recorded one (Coder cannot set "
                         "read_at)")
        if sent:
            notes.append(f"inboxes: {sent} notification(s) the run sent, each to the caller "
                         "itself, stay there (Coder cannot delete them)")
        return notes

    def restore_methods(self) -> list[str]:
        """Put back every template method the run changed; one recorded as `""` cannot be."""
        assert self.before is not None, "record() first"
        notes = []
        for template in self.owner.templates().expect_status(200).json():
            before = self.before.methods.get(template["id"])
            if before is None or template["method"] == before:
                continue
            if before == "":
                notes.append(f"template {template['name']}: method is {template['method']!r} "
                             "and CANNOT be put back to \"\" (the API refuses it); reset it "
                             "in the database or with the deployment's default")
                continue
            self.owner.put_template_method(template["id"], before,
                                           purpose=RESTORE).expect_status(200)
            notes.append(f"template {template['name']}: method back to {before!r}")
        return notes

    def _restore_preferences(self, user: Identity) -> list[str]:
        assert self.before is not None
        before = self.before.preferences.get(user.id, {})
        now = self.owner.stored_preferences(user.id)
        changes = {tid: before.get(tid, self.facts.default_disabled(tid))
                   for tid, disabled in now.items()
                   if disabled != before.get(tid, self.facts.default_disabled(tid))}
        new = set(now) - set(before)
        self.created.setdefault(user.id, set()).update(new)
        if changes:
            self.owner.put_preferences(user.id, changes).expect_status(200)
        notes = [f"preferences of {user.username}: {len(changes)} value(s) put back"] if changes \
            else []
        if new:
            notes.append(f"preferences of {user.username}: {len(new)} new preference(s) stored "
                         "during the run are left at their default-equivalent value (Coder has "
                         "no API to delete them)")
        return notes
