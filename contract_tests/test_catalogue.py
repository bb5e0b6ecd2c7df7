"""Dispatch methods and system templates: facts a schema cannot state about their content."""

from __future__ import annotations

import json
import re
import uuid

import pytest

from contract_tests.client import Api


def test_the_default_dispatch_method_is_one_of_the_available_ones(owner: Api) -> None:
    exchange = owner.dispatch_methods().expect_status(200)
    body = exchange.json()
    exchange.expect(isinstance(body, dict), "dispatch methods are one object, not an array")
    available = body["available"]
    exchange.expect(len(available) == len(set(available)) > 0,
                    "`available` lists each method once, and at least one")
    exchange.expect(body["default"] in available, "`default` must be one of `available`")
    exchange.expect("inbox" not in available, "`inbox` is implicit and never listed")


def test_system_templates_are_unique_system_templates_sorted_by_name(owner: Api) -> None:
    exchange = owner.templates().expect_status(200)
    templates = exchange.json()
    exchange.expect(isinstance(templates, list) and templates, "the system templates are listed")
    ids = [t["id"] for t in templates]
    exchange.expect(len(ids) == len(set(ids)), "template ids are unique")
    exchange.expect(all(t["kind"] == "system" for t in templates),
                    "the system endpoint lists only kind `system`")
    names = [t["name"] for t in templates]
    exchange.expect(names in (sorted(names), sorted(names, key=_linguistic_key)),
                    "templates are sorted by name (ORDER BY name, in the C or a linguistic "
                    "collation)")
    for template in templates:
        uuid.UUID(template["id"])


def _linguistic_key(name: str) -> tuple[str, str]:
    """Roughly how an en_US collation orders: letters and digits first, case and spaces later."""
    return (re.sub(r"[^0-9a-z]", "", name.casefold()), name)


def test_template_actions_are_json_text_of_url_label_pairs(owner: Api) -> None:
    exchange = owner.templates().expect_status(200)
    for template in exchange.json():
        try:
            actions = json.loads(template["actions"])
        except ValueError:
            exchange.expect(False, f"{template['name']}: `actions` must be JSON text")
        exchange.expect(isinstance(actions, list), f"{template['name']}: actions are an array")
        for action in actions:
            exchange.expect(isinstance(action, dict) and {"url", "label"} <= set(action),
                            f"{template['name']}: each action has a url and a label")


@pytest.mark.parametrize("operation", ["get-notification-dispatch-methods",
                                       "get-system-notification-templates",
                                       "get-notifications-settings"])
def test_repeated_reads_agree(owner: Api, operation: str) -> None:
    bodies = [owner.call(operation).expect_status(200).json() for _ in range(3)]
    assert bodies[0] == bodies[1] == bodies[2], f"{operation}: three reads disagreed"
