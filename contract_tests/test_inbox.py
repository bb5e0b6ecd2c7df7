"""The inbox (`GET /notifications/inbox`, read states): the list's shape, order, pages and cursor,
filters, the unread count, marking read and unread, mark all read, Coder's 400s, and scoping.

Every property holds for any inbox: what needs notifications (two to order, one unread to mark)
skips when the caller has none. Read states the suite changes are put back (guard.py).
"""

from __future__ import annotations

import string
import uuid
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from contract_tests.client import PAGE_SIZE, Api, InboxPage
from contract_tests.facts import Facts
from contract_tests.guard import InboxRecord
from contract_tests.inbox import (
    BAD_READ_STATUS,
    check_notification,
    instant,
    refused,
)
from contract_tests.plugin import ContractRun

MAX_PAGES = 4  # pages walked along the cursor: enough to cross a page boundary, cheap
LIST_PARAMETERS = {"targets", "templates", "read_status", "starting_before"}
# Coder also reads the session token from these query parameters; never send them as "unknown".
TOKEN_PARAMETERS = {"coder_session_token", "access_token"}


def bounded(contract_run: ContractRun, at_most: int = 8) -> settings:
    """Few examples for properties that each cost requests to a (possibly real) server."""
    return settings(max_examples=max(1, min(contract_run.max_examples, at_most)),
                    database=None, deadline=None, suppress_health_check=list(HealthCheck))


def fits(page: InboxPage) -> bool:
    """Whether this first page is the whole inbox."""
    return len(page.items) < PAGE_SIZE


def older(item: dict[str, Any], than: dict[str, Any]) -> bool:
    """Created strictly before `than`."""
    return instant(item["created_at"]) < instant(than["created_at"])  # type: ignore[operator]


# Shape, order, pages -----------------------------------------------------------------------

def test_every_notification_has_the_inbox_shape(owner: Api, facts: Facts,
                                                record: InboxRecord) -> None:
    for page in owner.inbox_walk(MAX_PAGES):
        for item in page.items:
            check_notification(page.exchange, item, user_id=facts.owner.id)


def test_nothing_matching_is_an_empty_array_not_null(owner: Api, record: InboxRecord) -> None:
    page = owner.inbox_page(templates=str(uuid.uuid4()))
    page.exchange.expect(page.items == [], "no notification has a random template id")


def test_pages_are_newest_first_at_most_25_and_never_repeat(owner: Api,
                                                            record: InboxRecord) -> None:
    pages = owner.inbox_walk(MAX_PAGES)
    seen: set[str] = set()
    for number, page in enumerate(pages):
        page.exchange.expect(len(page.items) <= PAGE_SIZE,
                             f"a page holds at most {PAGE_SIZE} notifications, this one "
                             f"{len(page.items)}")
        times = [instant(item["created_at"]) for item in page.items]
        page.exchange.expect(times == sorted(times, reverse=True),  # type: ignore[type-var]
                             "notifications are newest first (created_at descending)")
        repeated = seen & set(page.ids)
        page.exchange.expect(not repeated, f"page {number + 1} repeats {sorted(repeated)} from "
                                           "an earlier page")
        seen |= set(page.ids)
        if number:
            cursor = pages[number - 1].items[-1]
            page.exchange.expect(all(older(item, cursor) for item in page.items),
                                 f"a page asked with starting_before={cursor['id']} holds only "
                                 "notifications created strictly before that one")
    if len(pages) > 1:
        pages[0].exchange.expect(len(pages[0].items) == PAGE_SIZE, "every page but the last "
                                 f"holds exactly {PAGE_SIZE}")


def test_the_cursor_keeps_only_older_notifications(owner: Api, first_page: InboxPage) -> None:
    if not first_page.items:
        pytest.skip("the owner's inbox is empty")
    cursor = first_page.items[len(first_page.items) // 2]
    page = owner.inbox_page(starting_before=cursor["id"])
    page.exchange.expect(cursor["id"] not in page.ids, "the cursor itself is not on the page")
    page.exchange.expect(all(older(item, cursor) for item in page.items),
                         "only notifications created strictly before the cursor")
    expected = [item["id"] for item in first_page.items if older(item, cursor)]
    missing = set(expected) - set(page.ids)
    page.exchange.expect(not missing, f"every older notification of the first page is there; "
                                      f"missing {sorted(missing)}")


def test_an_unknown_cursor_is_ignored(owner: Api, first_page: InboxPage) -> None:
    page = owner.inbox_page(starting_before=str(uuid.uuid4()))
    page.exchange.expect(page.ids == first_page.ids, "a starting_before that names no "
                         "notification is ignored: the first page")


# Filters and the unread count --------------------------------------------------------------

def test_read_status_filters_and_the_unread_count_ignores_them(owner: Api,
                                                               first_page: InboxPage) -> None:
    unread = owner.inbox_page(read_status="unread")
    read = owner.inbox_page(read_status="read")
    nothing = owner.inbox_page(templates=str(uuid.uuid4()))
    count = first_page.unread_count
    for page in (unread, read, nothing):
        page.exchange.expect(page.unread_count == count,
                             f"unread_count counts every unread notification whatever the "
                             f"filters: {page.unread_count} here, {count} unfiltered")
    unread.exchange.expect(all(item["read_at"] is None for item in unread.items),
                           "read_status=unread keeps only notifications with read_at null")
    read.exchange.expect(all(item["read_at"] is not None for item in read.items),
                         "read_status=read keeps only notifications with read_at set")
    unread.exchange.expect(len(unread.items) == min(count, PAGE_SIZE),
                           f"unread_count {count}: the unread page holds min({count}, "
                           f"{PAGE_SIZE})")
    if fits(first_page):
        first_page.exchange.expect(
            count == sum(item["read_at"] is None for item in first_page.items),
            "the whole inbox fits a page: unread_count is its number of unread notifications")
        first_page.exchange.expect(
            unread.ids == [i["id"] for i in first_page.items if i["read_at"] is None]
            and read.ids == [i["id"] for i in first_page.items if i["read_at"] is not None],
            "the whole inbox fits a page: unread and read are its two parts, in its order")


def uuid_spelling(value: str) -> st.SearchStrategy[str]:
    """The spellings of a UUID google/uuid.Parse accepts: either case, braces, urn, no hyphens."""
    return st.sampled_from([value, value.upper(), "{" + value + "}", "urn:uuid:" + value,
                            value.replace("-", ""), "{" + value.upper() + "}"])


def test_a_templates_filter_keeps_those_templates_however_spelled(
        owner: Api, first_page: InboxPage, contract_run: ContractRun) -> None:
    present = sorted({item["template_id"] for item in first_page.items})
    if not present:
        pytest.skip("the owner's inbox is empty")

    @bounded(contract_run)
    @given(data=st.data())
    def check(data: st.DataObject) -> None:
        chosen = data.draw(st.lists(st.sampled_from(present), min_size=1, max_size=2,
                                    unique=True), label="templates")
        absent = data.draw(st.lists(st.uuids().map(str), max_size=1), label="absent")
        spelled = [data.draw(uuid_spelling(value)) for value in chosen + absent]
        if data.draw(st.booleans(), label="repeat the parameter"):
            query: str | list[str] = spelled
        else:
            query = ",".join(data.draw(st.sampled_from(["", " "])) + s for s in spelled)
        page = owner.inbox_page(templates=query)
        page.exchange.expect(page.items and all(i["template_id"] in chosen for i in page.items),
                             f"templates={query!r} keeps the notifications of those templates "
                             "(any of them), and the owner has some")
        if fits(first_page):
            expected = [i["id"] for i in first_page.items if i["template_id"] in chosen]
            page.exchange.expect(page.ids == expected, "the whole inbox fits a page: the "
                                 "filtered page is exactly its notifications of those templates")

    check()


def test_a_targets_filter_keeps_notifications_with_all_of_them(owner: Api,
                                                               first_page: InboxPage) -> None:
    nothing = owner.inbox_page(targets=str(uuid.uuid4()))
    nothing.exchange.expect(nothing.items == [], "no notification targets a random id")
    targeted = next((item for item in first_page.items if item["targets"]), None)
    if targeted is None:
        pytest.skip("no notification on the owner's first page has targets")
    for wanted in ([targeted["targets"][0]], targeted["targets"][:2]):
        page = owner.inbox_page(targets=",".join(wanted))
        page.exchange.expect(all(set(wanted) <= set(item["targets"] or ())
                                 for item in page.items),
                             f"targets={','.join(wanted)} keeps only notifications whose "
                             "targets contain all of them")
        page.exchange.expect(targeted["id"] in page.ids or not fits(first_page),
                             f"{targeted['id']} has those targets and must be kept")


# Coder's 400s --------------------------------------------------------------------------------

def test_an_unknown_parameter_is_refused(owner: Api, record: InboxRecord,
                                         contract_run: ContractRun) -> None:
    names = st.from_regex(r"[a-z][a-z_]{0,11}", fullmatch=True).filter(
        lambda name: name not in LIST_PARAMETERS | TOKEN_PARAMETERS)

    @bounded(contract_run, at_most=5)
    @example(name="limit")
    @example(name="format")  # a parameter of the watch socket, not of the list
    @given(name=names)
    def check(name: str) -> None:
        refused(owner.inbox(**{name: "1"}), name, "")

    check()


bad_uuids = st.text(alphabet=string.ascii_letters + string.digits + "-_{}:.", min_size=1,
                    max_size=40).filter(lambda value: len(value) not in (32, 36, 38, 45))


def test_a_bad_uuid_is_refused(owner: Api, record: InboxRecord,
                               contract_run: ContractRun) -> None:
    @bounded(contract_run, at_most=6)
    @example(parameter="targets", value="not-a-uuid")
    @given(parameter=st.sampled_from(["targets", "templates", "starting_before"]),
           value=bad_uuids)
    def check(parameter: str, value: str) -> None:
        detail = (f'Query param "{parameter}" must be a valid uuid'
                  if parameter == "starting_before"
                  else f'Query param "{parameter}" has invalid values')
        refused(owner.inbox(**{parameter: value}), parameter, detail)

    check()


def test_a_bad_read_status_is_refused_with_coders_message(owner: Api, record: InboxRecord,
                                                          contract_run: ContractRun) -> None:
    @bounded(contract_run, at_most=5)
    @example(value="READ")
    @example(value="none")
    @given(value=st.text(alphabet=string.ascii_letters, min_size=1, max_size=10).filter(
        lambda value: value not in ("all", "read", "unread")))
    def check(value: str) -> None:
        exchange = owner.inbox(read_status=value).expect_error(400, message=BAD_READ_STATUS)
        exchange.expect(not exchange.json().get("validations"),
                        "the read_status check answers a message only, no validations")

    check()


def test_a_read_status_for_a_bad_id_is_refused(owner: Api, first_page: InboxPage) -> None:
    for bad in ("xxx-xxx-xxx", "12345"):
        owner.set_read(bad, True).expect_error(400, message=f'Invalid UUID "{bad}".')
    after = owner.inbox_page()
    after.exchange.expect(after.unread_count == first_page.unread_count,
                          "a refused read-status call changes nothing")
