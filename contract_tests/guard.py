"""Leave the server as found: record what the suite may change, write only that, put it back.

Coder has no API to delete a stored preference, so the suite writes only templates a user
already has a preference for. With `allow_new_preferences` it may store a few new ones (always
the same few, so repeated runs add nothing); at the end those are set to the value that behaves
like no preference at all (and reported), since they cannot be removed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from contract_tests.client import Api
from contract_tests.facts import Facts, Identity

NEW_PREFERENCES = 3  # a real server keeps every preference the suite stores, so store few


@dataclass
class Snapshot:
    """Settings and the preferences of each user the suite may write."""

    paused: bool
    preferences: dict[str, dict[str, bool]]


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
        self.before = Snapshot(paused=paused, preferences=preferences)
        return self.before

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
        """Put settings and preferences back; return what was done, for the report."""
        assert self.before is not None, "record() first"
        done = []
        if self.owner.settings().expect_status(200).json()["notifier_paused"] != self.before.paused:
            self.owner.put_settings(self.before.paused).expect_status(200, 304)
            done.append(f"settings: notifier_paused back to {self.before.paused}")
        for user in self.users:
            done.extend(self._restore_preferences(user))
        return done

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
