"""The Go text/template subset renderer (mock_server/gotemplate/) against Coder's own examples.

Labels and expected texts come from Coder's TestNotificationTemplates_Golden
(coderd/notifications/notifications_test.go) and its golden files under
coderd/notifications/testdata/rendered-templates/webhook/ (`body_markdown` is the rendered body
template before Markdown is stripped; `actions` is the rendered actions JSON). Coder's tests use
base_url "http://test.com" (defaultHelpers()).
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from mock_server import gotemplate
from mock_server.gotemplate import (
    NO_VALUE,
    Payload,
    TemplateError,
    render,
    render_actions,
    validate,
)

ROOT = Path(__file__).resolve().parent.parent
FIXTURE = yaml.safe_load((ROOT / "fixtures" / "templates.yaml").read_text())["templates"]
BASE = "http://test.com"
ZERO_ID = "00000000-0000-0000-0000-000000000000"
TASK = {"task": "my-task", "task_id": ZERO_ID, "workspace": "my-workspace",
        "pause_reason": "idle timeout"}  # TemplateTaskPaused.json.golden, the one with task_id
PREBUILD = {"org": "cern", "preset": "particle-accelerator", "template": "docker",
            "template_version": "angry_torvalds"}
ACCOUNT = {"initiator": "rob"}

# Per fixture template: the labels Coder's golden test enqueues it with.
CODER_LABELS: dict[str, dict[str, str]] = {
    "One-Time Passcode": {"one_time_passcode": ZERO_ID},
    "Prebuild Failure Limit Reached": PREBUILD,
    "Prebuilt Workspace Resource Replaced": {
        **PREBUILD, "claimant": "prebuilds-claimer", "workspace": "my-workspace",
        "workspace_build_num": "2"},
    "Report: Workspace Builds Failed": {},
    **{name: TASK for name in ("Task Completed", "Task Failed", "Task Idle", "Task Paused",
                               "Task Resumed", "Task Working")},
    "Template Deleted": {"name": "Bobby's Template", **ACCOUNT},
    "Template Deprecated": {"template": "alpha", "organization": "coder",
                            "message": "This template has been replaced by beta"},
    "Troubleshooting Notification": {},
    **{f"User account {verb}": {f"{verb}_account_name": "bobby",
                                f"{verb}_account_user_name": "William Tables", **ACCOUNT}
       for verb in ("activated", "created", "deleted", "suspended")},
    "Workspace Autobuild Failed": {"name": "bobby-workspace", "reason": "autostart"},
    "Workspace Created": {"workspace": "bobby-workspace", "template": "bobby-template",
                          "version": "alpha", "workspace_owner_username": "mrbobby"},
    "Workspace Deleted": {"name": "bobby-workspace", "reason": "autodeleted due to dormancy",
                          "initiator": "autobuild"},
    "Workspace Manual Build Failed": {
        "name": "bobby-workspace", "template_name": "bobby-template",
        "template_version_name": "bobby-template-version", "initiator": "joe",
        "workspace_owner_username": "mrbobby", "workspace_build_number": "3"},
    "Workspace Manually Updated": {
        "organization": "bobby-organization", "initiator": "bobby", "workspace": "bobby-workspace",
        "template": "bobby-template", "version": "alpha", "workspace_owner_username": "mrbobby"},
    "Workspace Marked as Dormant": {
        "name": "bobby-workspace", "reason": "breached the template's threshold for inactivity",
        "initiator": "autobuild", "dormancyHours": "24", "timeTilDormant": "24 hours"},
    "Workspace Marked for Deletion": {
        "name": "bobby-workspace", "reason": "template updated to new dormancy policy",
        "dormancyHours": "24", "timeTilDormant": "24 hours"},
    "Workspace Out Of Disk": {"workspace": "bobby-workspace"},
    "Workspace Out Of Memory": {"workspace": "bobby-workspace", "threshold": "90%"},
    "Workspace Updated Automatically": {
        "name": "bobby-workspace", "template_version_name": "1.0",
        "template_version_message": "template now includes catnip"},
    "Your account has been activated": {"activated_account_name": "bobby", **ACCOUNT},
    "Your account has been suspended": {"suspended_account_name": "bobby", **ACCOUNT},
    "Custom Notification": {"custom_title": "Custom Title", "custom_message": "Custom Message"},
}
# Numbers are floats, as json.Unmarshal gives Coder (the test says so too).
REPORT = {"report_frequency": "week", "templates": [
    {"name": "bobby-first-template", "display_name": "Bobby First Template", "failed_builds": 4.0,
     "total_builds": 55.0, "versions": [{"template_version_name": "bobby-template-version-1",
                                         "failed_count": 3.0, "failed_builds": []}]},
    {"name": "bobby-second-template", "display_name": "Bobby Second Template",
     "failed_builds": 5.0, "total_builds": 50.0, "versions": []}]}
CODER_DATA = {
    "Report: Workspace Builds Failed": REPORT,
    "Workspace Out Of Disk": {"volumes": [{"path": "/home/coder", "threshold": "90%"}]},
    "Prebuilt Workspace Resource Replaced": {"replacements": {"docker_container[0]": "env"}},
}


def bobby(labels: dict | None = None, data: dict | None = None,
          email: str = "bobby@coder.com") -> Payload:
    """The recipient of Coder's golden tests."""
    return Payload(labels=labels or {}, data=data or {}, user_name="Bobby",
                   user_username="bobby", user_email=email, base_url=BASE)


def fixture(name: str) -> dict:
    return next(template for template in FIXTURE if template["name"] == name)


def coder_payload(name: str) -> Payload:
    return bobby(CODER_LABELS[name], CODER_DATA.get(name))


# ---- every fixture template ------------------------------------------------------------------

def test_every_fixture_template_has_coder_labels():
    assert {template["name"] for template in FIXTURE} == set(CODER_LABELS)


@pytest.mark.parametrize("key", ["title_template", "body_template"])
@pytest.mark.parametrize("name", [template["name"] for template in FIXTURE])
def test_fixture_title_and_body_render_completely(name, key):
    text = render(fixture(name)[key], coder_payload(name))
    assert text.strip()
    assert NO_VALUE not in text
    assert "{{" not in text


@pytest.mark.parametrize("name", [template["name"] for template in FIXTURE])
def test_fixture_actions_render_to_links_on_the_deployment(name):
    source = fixture(name)["actions"]
    actions = render_actions(source, coder_payload(name))
    assert len(actions) == source.count('"label"')
    for action in actions:
        assert action["label"]
        assert action["url"].startswith(BASE)
        assert NO_VALUE not in action["url"]
        assert "{{" not in action["url"]


GOLDEN = [  # (template, labels, user email, field, Coder's rendered text)
    ("Workspace Deleted", None, None, "title_template", 'Workspace "bobby-workspace" deleted'),
    ("Workspace Deleted", None, None, "body_template",
     'Your workspace **bobby-workspace** was deleted.\n\n'
     'The specified reason was "**autodeleted due to dormancy (autobuild)**".'),
    ("Workspace Deleted", None, None, "actions",
     [{"label": "View workspaces", "url": "http://test.com/workspaces"},
      {"label": "View templates", "url": "http://test.com/templates"}]),
    ("User account created", None, None, "body_template",
     "New user account **bobby** has been created.\n\n"
     "This new user account was created for **William Tables** by **rob**."),
    ("User account created", None, None, "actions",
     [{"label": "View accounts", "url": "http://test.com/deployment/users?filter=status%3Aactive"}]),
    ("Workspace Marked as Dormant", None, None, "body_template",
     "Your workspace **bobby-workspace** has been marked as [**dormant**](https://coder.com/docs/"
     "templates/schedule#dormancy-threshold-enterprise) due to inactivity exceeding the dormancy "
     "threshold.\n\nThis workspace will be automatically deleted in 24 hours if it remains "
     "inactive.\n\nTo prevent deletion, activate your workspace using the link below."),
    ("Workspace Marked as Dormant", None, None, "actions",
     [{"label": "View workspace", "url": "http://test.com/@bobby/bobby-workspace"}]),
    ("Task Paused", None, None, "title_template", "Task 'my-task' is paused"),
    ("Task Paused", None, None, "body_template", "The task 'my-task' was paused (idle timeout)."),
    ("Task Paused", None, None, "actions",
     [{"label": "View task", "url": f"http://test.com/tasks/bobby/{ZERO_ID}"},
      {"label": "View workspace", "url": "http://test.com/@bobby/my-workspace"}]),
    ("One-Time Passcode", None, "bobby/drop-table+user@coder.com", "actions",
     [{"label": "Reset password", "url": f"http://test.com/reset-password/change?otp={ZERO_ID}"
       "&email=bobby%2Fdrop-table%2Buser%40coder.com"}]),
    ("Template Deprecated", None, None, "title_template", "Template 'alpha' has been deprecated"),
    ("Template Deprecated", None, None, "actions",
     [{"label": "See affected workspaces",
       "url": "http://test.com/workspaces?filter=owner%3Ame+template%3Aalpha"},
      {"label": "View template", "url": "http://test.com/templates/coder/alpha"}]),
    ("Template Deleted", None, None, "title_template", "Template \"Bobby's Template\" deleted"),
    ("Prebuilt Workspace Resource Replaced", None, None, "actions",
     [{"label": "View workspace build",
       "url": "http://test.com/@prebuilds-claimer/my-workspace/builds/2"},
      {"label": "View template version",
       "url": "http://test.com/templates/cern/docker/versions/angry_torvalds"}]),
    ("Custom Notification", None, None, "title_template", "Custom Title"),
    ("Custom Notification", None, None, "body_template", "Custom Message"),
    ("Workspace Out Of Memory", None, None, "title_template",
     'Your workspace "bobby-workspace" is low on memory'),
]


@pytest.mark.parametrize(("name", "labels", "email", "key", "expected"), GOLDEN)
def test_fixture_renders_coder_golden_text(name, labels, email, key, expected):
    payload = bobby(labels or CODER_LABELS[name], CODER_DATA.get(name), email or "bobby@coder.com")
    if key == "actions":
        assert render_actions(fixture(name)["actions"], payload) == expected
    else:
        assert render(fixture(name)[key], payload) == expected


def test_missing_label_renders_no_value_as_in_coders_golden():
    # Migration 000249's action, rendered by Coder with no labels: TemplateWorkspaceBuildsFailed
    # Report.json.golden holds "http://test.com/workspaces?filter=template%3A<no value>".
    source = ('[{"label": "View workspaces", '
              '"url": "{{ base_url }}/workspaces?filter=template%3A{{.Labels.template_name}}"}]')
    url = "http://test.com/workspaces?filter=template%3A<no value>"
    assert render_actions(source, bobby()) == [{"label": "View workspaces", "url": url}]


def test_coders_real_report_body_is_refused_by_name():
    # The shipped report body (not the fixture's summary) pluralises with `gt`, outside the subset.
    source = "failed {{$v.failed_count}} time{{if gt $v.failed_count 1.0}}s{{end}}"
    with pytest.raises(TemplateError, match="builtin function 'gt'"):
        validate("{{range $v := .Data.versions}}" + source + "{{end}}")


# ---- each construct ------------------------------------------------------------------------

DATA = {"n": 4.0, "big": 1e6, "half": 0.5, "int": 1234, "null": None, "yes": True,
        "list": ["a", 4.0], "map": {"b": "x", "a": 1.0}, "nested": {"x": {"y": "deep"}},
        "empty": "", "zero": 0, "none": [], "nomap": {}}
CASES = [  # (template, labels, expected)
    ("{{.Labels.name}}", {"name": "ws"}, "ws"),
    ("{{ .Labels.name }}", {"name": "ws"}, "ws"),
    ("[{{.Labels.missing}}]", {}, "[<no value>]"),
    ("[{{.Labels.empty}}]", {"empty": ""}, "[]"),
    ("{{.Data.nested.x.y}}", {}, "deep"),
    ("{{.Data.missing}}|{{.Data.missing.deeper}}|{{.Data.nested.nope}}", {},
     "<no value>|<no value>|<no value>"),
    ("{{.Data.null}}", {}, NO_VALUE),
    ("{{.Data.n}} {{.Data.int}} {{.Data.big}} {{.Data.half}} {{.Data.yes}}", {},
     "4 1234 1e+06 0.5 true"),
    ("{{.Data.list}} {{.Data.map}} {{.Data.none}} {{.Data.nomap}}", {},
     "[a 4] map[a:1 b:x] [] map[]"),
    ("{{.UserName}}/{{.UserUsername}}/{{.UserEmail}}", {}, "Bobby/bobby/bobby@coder.com"),
    ("{{base_url}}/x", {}, "http://test.com/x"),
    ("{{.Labels.html}}", {"html": "<b>&'\"</b>"}, "<b>&'\"</b>"),
    ("a }} b", {}, "a }} b"),
    # if / else and Go's truth
    ("{{if .Labels.a}}yes{{else}}no{{end}}", {"a": "x"}, "yes"),
    ("{{if .Labels.a}}yes{{else}}no{{end}}", {"a": ""}, "no"),
    ("{{if .Labels.a}}yes{{else}}no{{end}}", {}, "no"),
    ("{{if .Data.n}}y{{end}}{{if .Data.zero}}z{{end}}{{if .Data.yes}}t{{end}}", {}, "yt"),
    ("{{if .Data.list}}l{{end}}{{if .Data.none}}n{{end}}{{if .Data.map}}m{{end}}"
     "{{if .Data.nomap}}e{{end}}{{if .Data.null}}0{{end}}", {}, "lm"),
    ("{{if .Labels}}labels{{end}}{{if .Data}}data{{end}}", {}, "data"),
    ("{{if .Labels.a}}{{if .Labels.b}}ab{{else}}a{{end}}{{end}}", {"a": "1"}, "a"),
    ("{{.Labels.reason}}{{ if .Labels.initiator }} ({{ .Labels.initiator }}){{end}}",
     {"reason": "r", "initiator": "i"}, "r (i)"),
    # range
    ("{{range $v := .Data.list}}<{{$v}}={{.}}>{{end}}", {}, "<a=a><4=4>"),
    ("{{range .Data.map}}{{.}},{{end}}", {}, "1,x,"),
    ("{{range $t := .Data.list}}{{$.UserUsername}}:{{$t}} {{end}}", {}, "bobby:a bobby:4 "),
    ("{{range .Data.none}}x{{else}}empty{{end}}", {}, "empty"),
    ("{{range $v := .Data.missing}}x{{else}}none{{end}}", {}, "none"),
    ("{{range .Data.null}}x{{end}}.", {}, "."),
    ("{{range $v := .Data.rows}}{{$v.name}}:{{$v.missing}};{{end}}", {},
     "a:<no value>;b:<no value>;"),
    # urlquery (Go's url.QueryEscape of fmt.Sprint of the arguments)
    ("{{.UserEmail | urlquery}}", {}, "bobby%40coder.com"),
    ("{{urlquery .Labels.q}}", {"q": "a b/c+d?&=é~-._"}, "a+b%2Fc%2Bd%3F%26%3D%C3%A9~-._"),
    ("{{.Labels.missing | urlquery}}", {}, "%3Cno+value%3E"),
    ("{{urlquery .Labels.a .Labels.b}}|{{urlquery .Data.n .Data.n}}|{{urlquery .Labels.a .Data.n}}",
     {"a": "x", "b": "y"}, "xy|4+4|x4"),
    ("{{urlquery}}", {}, ""),
    # trim markers and comments
    ("a  \n\t{{- .Labels.x -}} \r\n b", {"x": "X"}, "aXb"),
    ("a {{- .Labels.x}} b", {"x": "X"}, "aX b"),
    ("a {{.Labels.x -}} b", {"x": "X"}, "a Xb"),
    ("a{{/* a comment }} with braces */}}b", {}, "ab"),
    ("a \n{{- /* trimmed */ -}}\n b", {}, "ab"),
    ("{{range $v := .Data.list -}}\n  {{$v}}\n{{- end}}", {}, "a4"),
]


@pytest.mark.parametrize(("template", "labels", "expected"), CASES)
def test_construct(template, labels, expected):
    data = {**DATA, "rows": [{"name": "a"}, {"name": "b"}]}
    assert render(template, bobby(labels, data)) == expected


def test_parse_is_cached_per_template_text():
    gotemplate.parse.cache_clear()
    for _ in range(3):
        render("{{.Labels.cached}}", bobby({"cached": "c"}))
    info = gotemplate.parse.cache_info()
    assert (info.misses, info.hits) == (1, 2)


# ---- refusals ------------------------------------------------------------------------------

REFUSED = [  # (template, what the message must name)
    *[(f"{{{{{name} .Labels.a}}}}", f"builtin function '{name}'")
      for name in ("eq", "ne", "lt", "gt", "and", "or", "not", "len", "index", "printf")],
    ('{{if eq .Labels.a "b"}}x{{end}}', "builtin function 'eq'"),
    ("{{with .Labels}}x{{end}}", "keyword 'with'"),
    ('{{define "x"}}x{{end}}', "keyword 'define'"),
    ('{{template "x"}}', "keyword 'template'"),
    ("{{if .Labels.a}}a{{else if .Labels.b}}b{{end}}", "'else if'"),
    ('{{"literal"}}', "string literal"),
    ("{{1}}", "number literal"),
    ("{{(.Labels.a)}}", "parenthesized pipeline"),
    ("{{$x := .Labels.a}}", "variable declaration"),
    ("{{range $k, $v := .Data.map}}{{end}}", "two variables"),
    ("{{nope}}", "function 'nope' not defined"),
    ("{{.Labels.a", "unclosed action"),
    ("{{/* never closed }}", "unclosed comment"),
    ("{{/* c */ .Labels.a}}", "comment ends before closing delimiter"),
    ("{{if .Labels.a}}x", "unexpected EOF"),
    ("x{{end}}", "unexpected {{end}}"),
    ("{{if .Labels.a}}x{{else}}y{{else}}z{{end}}", "second {{else}}"),
    ("{{}}", "missing value for command"),
    ("{{.Labels.a | }}", "missing command in pipeline"),
    ("{{base_url .Labels.a}}", "wrong number of args for base_url"),
    ("{{.Labels.a | base_url}}", "wrong number of args for base_url"),
    ("{{.Labels.a | .Labels.b}}", "can't give argument to non-function"),
    ("{{$v}}", "undefined variable '$v'"),
    ("a {{-.Labels.a}}", "unsupported syntax '-'"),
]


@pytest.mark.parametrize(("template", "named"), REFUSED)
def test_unsupported_or_malformed_template_is_refused(template, named):
    with pytest.raises(TemplateError) as caught:
        validate(template)
    assert named in str(caught.value)
    assert shown_text(caught.value) in template


def shown_text(error: TemplateError) -> str:
    """The bad text an error message quotes; it must be a non-empty piece of the template."""
    message = str(error)
    assert " in '" in message
    assert "'; hint: " in message
    shown = message.split(" in '", 1)[1].split("'; hint: ", 1)[0]
    assert shown.startswith("{{")
    return shown


FAILS_AT_RENDER = [  # (template, what the message must name); they parse, as they do in Go
    ("{{.Nope}}", "can't evaluate field Nope in type types.MessagePayload"),
    ("{{.Labels.a.b}}", "can't evaluate field b in type string"),
    ("{{.Data.list.x}}", "can't evaluate field x in type []interface {}"),
    ("{{.Data.null.x}}", "nil pointer evaluating interface {}.x"),
    ("{{range .Labels.a}}{{end}}", "range can't iterate over x"),
    ("{{.}}", "can't print a value of type types.MessagePayload"),
]


@pytest.mark.parametrize(("template", "named"), FAILS_AT_RENDER)
def test_template_failing_at_execution(template, named):
    validate(template)
    with pytest.raises(TemplateError) as caught:
        render(template, bobby({"a": "x"}, DATA))
    assert named in str(caught.value)
    assert shown_text(caught.value) in template


# ---- actions -------------------------------------------------------------------------------

def test_actions_text_is_rendered_whole_before_decoding():
    source = '[{"label": "{{.Labels.a}} it", "url": "{{base_url}}/{{.UserUsername}}"}]'
    assert render_actions(source, bobby({"a": "See"})) == [
        {"label": "See it", "url": "http://test.com/bobby"}]
    with pytest.raises(TemplateError, match="not JSON"):
        render_actions(source, bobby({"a": 'say "hi"'}))  # Coder's json.Unmarshal fails too


@pytest.mark.parametrize(("source", "expected"), [
    ("[]", []), ("null", []), ('[{"url": "{{base_url}}"}]', [{"label": "", "url": BASE}]),
])
def test_actions_shapes(source, expected):
    assert render_actions(source, bobby()) == expected


@pytest.mark.parametrize(("source", "named"), [
    ('{"url": "x"}', "not a JSON array of objects"), ('["x"]', "not a JSON array of objects"),
    ('[{"url": 1, "label": "x"}]', "not a string"), ("[{{eq}}]", "builtin function 'eq'"),
])
def test_bad_actions_are_refused(source, named):
    with pytest.raises(TemplateError, match=named):
        render_actions(source, bobby())
