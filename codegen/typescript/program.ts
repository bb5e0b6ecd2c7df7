/**
 * A typed client of openapi.yaml, compiled with `tsc --strict` against the types
 * openapi-typescript generates from it (tests/test_codegen.py). It fails to compile when a
 * schema drifts from Coder's type (`same`), when an operation is added or loses its success
 * answer (`calls` has one entry per operationId), and when a response field is added, dropped
 * or retyped (every response is read through a `Fields` visitor naming each field).
 *
 * The HTTP part is a dozen lines over fetch rather than a client library, so that the only
 * types in play are the generated ones.
 */
import type { components, operations } from "../../build/codegen/typescript/api";
import type * as Coder from "./coder";

type Schemas = components["schemas"];

// Each codersdk schema generates Coder's type, exactly (both ways, optionality included).
type Flat<T> = { [K in keyof T]: T[K] };
type Equal<A, B> =
  (<T>() => T extends Flat<A> ? 1 : 2) extends <T>() => T extends Flat<B> ? 1 : 2 ? true : false;
const same = <A, B>(proof: Equal<A, B>): Equal<A, B> => proof;

export const coderTypes = [
  same<Schemas["codersdk.NotificationsSettings"], Coder.NotificationsSettings>(true),
  same<Schemas["codersdk.NotificationMethodsResponse"], Coder.NotificationMethodsResponse>(true),
  same<Schemas["codersdk.NotificationTemplate"], Coder.NotificationTemplate>(true),
  same<Schemas["codersdk.NotificationPreference"], Coder.NotificationPreference>(true),
  same<Schemas["NotificationPreferenceList"], Coder.NotificationPreference[] | null>(true),
  same<Schemas["codersdk.UpdateUserNotificationPreferences"],
    Coder.UpdateUserNotificationPreferences>(true),
  same<Schemas["codersdk.Response"], Coder.Response>(true),
  same<Schemas["codersdk.ValidationError"], Coder.ValidationError>(true),
  same<Schemas["codersdk.User"], Coder.User>(true),
  same<Schemas["codersdk.SlimRole"], Coder.SlimRole>(true),
  same<Schemas["codersdk.InboxNotification"], Coder.WireInboxNotification>(true),
  same<Schemas["codersdk.InboxNotificationAction"], Coder.InboxNotificationAction>(true),
  same<Schemas["codersdk.ListInboxNotificationsResponse"],
    Coder.WireListInboxNotificationsResponse>(true),
  same<Schemas["codersdk.GetInboxNotificationResponse"],
    Coder.WireGetInboxNotificationResponse>(true),
  same<Schemas["codersdk.UpdateInboxNotificationReadStatusRequest"],
    Coder.UpdateInboxNotificationReadStatusRequest>(true),
  same<Schemas["codersdk.UpdateInboxNotificationReadStatusResponse"],
    Coder.WireUpdateInboxNotificationReadStatusResponse>(true),
  same<Schemas["codersdk.CustomNotificationContent"], Coder.CustomNotificationContent>(true),
  same<Schemas["codersdk.CustomNotificationRequest"], Coder.CustomNotificationRequest>(true),
  same<Schemas["codersdk.UpdateNotificationTemplateMethod"],
    Coder.UpdateNotificationTemplateMethod>(true),
];

// Reading every field: a visitor has one entry per field, no more, no fewer.
type Fields<T> = { [K in keyof T]-?: (value: T[K]) => string };
const show = (value: unknown): string => JSON.stringify(value) ?? "";

function visit<T extends object>(value: T, fields: Fields<T>): string[] {
  return (Object.keys(fields) as (keyof T)[]).map((key) => fields[key](value[key]));
}

const role: Fields<Schemas["codersdk.SlimRole"]> = {
  name: show, display_name: show, organization_id: show,
};
const user: Fields<Schemas["codersdk.User"]> = {
  id: show, username: show, avatar_url: show, name: show, email: show, created_at: show,
  updated_at: show, last_seen_at: show, status: show, login_type: show, theme_preference: show,
  organization_ids: (ids) => ids.join(","),
  roles: (roles) => roles.flatMap((r) => visit(r, role)).join(","),
};
const template: Fields<Schemas["codersdk.NotificationTemplate"]> = {
  id: show, name: show, title_template: show, body_template: show, actions: show, group: show,
  method: show, kind: show, enabled_by_default: show,
};
const preference: Fields<Schemas["codersdk.NotificationPreference"]> = {
  id: show, disabled: show, updated_at: show,
};
const action: Fields<Schemas["codersdk.InboxNotificationAction"]> = { label: show, url: show };
const notification: Fields<Schemas["codersdk.InboxNotification"]> = {
  id: show, user_id: show, template_id: show, targets: (t) => (t ?? []).join(","), title: show,
  content: show, icon: show, actions: (a) => a.flatMap((x) => visit(x, action)).join(","),
  read_at: show, created_at: show,
};
const inboxPage: Fields<Schemas["codersdk.ListInboxNotificationsResponse"]> = {
  notifications: (list) => list.flatMap((n) => visit(n, notification)).join(","),
  unread_count: show,
};
const readStatus: Fields<Schemas["codersdk.UpdateInboxNotificationReadStatusResponse"]> = {
  notification: (n) => visit(n, notification).join(","), unread_count: show,
};
const methods: Fields<Schemas["codersdk.NotificationMethodsResponse"]> = {
  available: (a) => a.join(","), default: show,
};
const settings: Fields<Schemas["codersdk.NotificationsSettings"]> = { notifier_paused: show };
const validation: Fields<Schemas["codersdk.ValidationError"]> = { field: show, detail: show };
const message: Fields<Schemas["codersdk.Response"]> = {
  message: show, detail: show,
  validations: (v) => (v ?? []).flatMap((x) => visit(x, validation)).join(","),
};

// Calling an operation: its parameters, its JSON body, its answer for one status, all typed.
type Id = keyof operations;
type Answers<I extends Id> = operations[I]["responses"];
type Json<R> = R extends { content: { "application/json": infer J } } ? J : null;
type Sent<I extends Id> =
  operations[I] extends { requestBody: { content: { "application/json": infer B } } } ? B : never;
type Params<I extends Id> = operations[I]["parameters"];
type Query = Record<string, string | undefined>;

export interface Target { base: string; token: string }

async function call<I extends Id, S extends keyof Answers<I> & number>(
  target: Target, id: I, status: S, route: [method: string, path: string],
  request: { params?: Params<I>; body?: Sent<I> } = {},
): Promise<Json<Answers<I>[S]>> {
  const query = new URLSearchParams();
  const given = (request.params as { query?: Query } | undefined)?.query ?? {};
  Object.entries(given).forEach(([k, v]) => v !== undefined && query.set(k, v));
  const url = target.base + route[1] + (query.size ? `?${query}` : "");
  const init: RequestInit = { method: route[0], headers: { "Coder-Session-Token": target.token } };
  if (request.body !== undefined) init.body = JSON.stringify(request.body);
  const answer = await fetch(url, init);
  if (answer.status !== status) throw new Error(`${id}: ${answer.status}, not ${status}`);
  const text = await answer.text();
  return (text ? JSON.parse(text) : null) as Json<Answers<I>[S]>;
}

// What Coder's types let a client send is what the request bodies accept.
const pause: Coder.NotificationsSettings = { notifier_paused: false };
const read: Coder.UpdateInboxNotificationReadStatusRequest = { is_read: true };
const custom: Coder.CustomNotificationRequest = { content: { title: "Built", message: "ok" } };
const method: Coder.UpdateNotificationTemplateMethod = { method: "webhook" };
const disable = (id: string): Coder.UpdateUserNotificationPreferences =>
  ({ template_disabled_map: { [id]: true } });

/** Every operation once, in an order a fresh deployment answers, as an owner. */
export async function run(t: Target): Promise<string[]> {
  const out: string[] = [];
  const known = { template: "", notification: "" };
  const calls: { [I in Id]: () => Promise<unknown> } = {
    "get-notification-dispatch-methods": async () => out.push(...visit(await call(
      t, "get-notification-dispatch-methods", 200, ["GET", "/notifications/dispatch-methods"]),
    methods)),
    "get-notifications-settings": async () => out.push(...visit(await call(
      t, "get-notifications-settings", 200, ["GET", "/notifications/settings"]), settings)),
    "update-notifications-settings": async () => out.push(...visit(await call(
      t, "update-notifications-settings", 200, ["PUT", "/notifications/settings"],
      { body: pause }), settings)),
    "get-system-notification-templates": async () => {
      const list = await call(t, "get-system-notification-templates", 200,
        ["GET", "/notifications/templates/system"]);
      known.template = list[0]?.id ?? "";
      out.push(...list.flatMap((x) => visit(x, template)));
    },
    "send-a-test-notification": () => call(t, "send-a-test-notification", 204,
      ["POST", "/notifications/test"]),
    "get-user-notification-preferences": async () => {
      const list = await call(t, "get-user-notification-preferences", 200,
        ["GET", "/users/me/notifications/preferences"], { params: { path: { user: "me" } } });
      out.push(...(list ?? []).flatMap((x) => visit(x, preference)));
    },
    "update-user-notification-preferences": async () => {
      const list = await call(t, "update-user-notification-preferences", 200,
        ["PUT", "/users/me/notifications/preferences"],
        { params: { path: { user: "me" } }, body: disable(known.template) });
      out.push(...(list ?? []).flatMap((x) => visit(x, preference)));
    },
    "get-user-by-name": async () => out.push(...visit(await call(
      t, "get-user-by-name", 200, ["GET", "/users/me"], { params: { path: { user: "me" } } }),
    user)),
    "send-a-custom-notification": () => call(t, "send-a-custom-notification", 204,
      ["POST", "/notifications/custom"], { body: custom }),
    "list-inbox-notifications": async () => {
      const page = await call(t, "list-inbox-notifications", 200, ["GET", "/notifications/inbox"],
        { params: { query: { read_status: "unread" } } });
      known.notification = page.notifications[0]?.id ?? "";
      out.push(...visit(page, inboxPage));
    },
    "update-read-status-of-a-notification": async () => out.push(...visit(await call(
      t, "update-read-status-of-a-notification", 200,
      ["PUT", `/notifications/inbox/${known.notification}/read-status`],
      { params: { path: { id: known.notification } }, body: read }), readStatus)),
    "mark-all-unread-notifications-as-read": () => call(
      t, "mark-all-unread-notifications-as-read", 204,
      ["PUT", "/notifications/inbox/mark-all-as-read"]),
    "get-custom-notification-templates": async () => out.push(...(await call(
      t, "get-custom-notification-templates", 200, ["GET", "/notifications/templates/custom"]))
      .flatMap((x) => visit(x, template))),
    "update-notification-template-dispatch-method": async () => out.push(...visit(await call(
      t, "update-notification-template-dispatch-method", 200,
      ["PUT", `/notifications/templates/${known.template}/method`],
      { params: { path: { notification_template: known.template } }, body: method }), message)),
  };
  for (const next of Object.values(calls)) await next();
  return out;
}
