"""The docs' usage flow, every operation and the documented errors, through the Python client that
`openapi-python-client generate --path spec/openapi.json` produced, against `opx mock`.

Only the generated package is used to talk to the mock (its AuthenticatedClient, its api modules,
its models); every call asserts the typed result the generator promises. Run by `.ci/generators`:

    OPX_BASE_URL     the main mock (a large balance, the documented rate limits)
    OPX_POOR_URL     a mock whose account cannot afford any plan (for 402)
    OPX_LIMITED_URL  a fresh mock with the documented rate limits (for 429)
    OPX_TOKEN        the token all three accept
"""

import asyncio
import datetime
import importlib
import json
import pkgutil
import re

import op_proxy_api_client.api
from op_proxy_api_client import AuthenticatedClient
from op_proxy_api_client.api.account import get_account
from op_proxy_api_client.api.catalog import list_plans
from op_proxy_api_client.api.logs import list_logs
from op_proxy_api_client.api.services import (
    change_country,
    change_rotation,
    extend_service,
    get_proxies,
    get_service,
    list_services,
    purchase,
    regenerate_credentials,
    replace_whitelist,
)
from op_proxy_api_client.models import (
    Account,
    AccountResponse,
    CountryRequest,
    Currency,
    ErrorCode,
    ErrorDetail,
    ErrorEnvelope,
    GatewayCountry,
    LogEntry,
    LogPage,
    LogPageResponse,
    Plan,
    PlanList,
    PlanListResponse,
    ProxyFormat,
    ProxyLayout,
    ProxyList,
    ProxyListResponse,
    ProxyServer,
    PurchaseRequest,
    RotationRequest,
    Service,
    ServicePage,
    ServicePageResponse,
    ServiceResponse,
    ServiceStatus,
    ServiceType,
    StatusFilter,
    WhitelistEntry,
    WhitelistRequest,
)
from op_proxy_api_client.types import Unset

from mock_env import BASE, TOKEN, mock_url

called: set[str] = set()  # generated api modules used, to check that every operation ran
sent: list[tuple[str, str, bytes]] = []  # what the generated client put on the wire


def record(request):
    """httpx request hook: keeps the method, path and body the generated client sent."""
    sent.append((request.method, request.url.path, request.read()))


def client(base: str = BASE, token: str = TOKEN, hooks: bool = True) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=base,
        token=token,
        raise_on_unexpected_status=True,
        # (an async client would need an async hook: the async call below goes without)
        httpx_args={"event_hooks": {"request": [record]}} if hooks else {},
    )


def call(op, **kwargs):
    """One call of a generated operation module (sync_detailed), remembered for the coverage check."""
    called.add(op.__name__.rsplit(".", 1)[1])
    return op.sync_detailed(**kwargs)


def ok(resp, envelope):
    """A 200 whose parsed body is the generated success envelope; returns its typed `data`."""
    assert resp.status_code == 200, (resp.status_code, resp.content)
    assert isinstance(resp.parsed, envelope), (envelope, type(resp.parsed), resp.content)
    assert resp.parsed.status == "ok"
    return resp.parsed.data


def fails(resp, status: int, code: ErrorCode) -> ErrorDetail:
    """A documented error: the typed ErrorEnvelope with an ErrorDetail whose code is the enum member."""
    assert resp.status_code == status, (resp.status_code, resp.content)
    env = resp.parsed
    assert isinstance(env, ErrorEnvelope), (type(env), resp.content)
    assert env.status == "error"
    assert isinstance(env.error, ErrorDetail)
    assert isinstance(env.error.code, ErrorCode) and env.error.code is code, env.error.code
    assert isinstance(env.error.message, str) and env.error.message
    return env.error


def step(name: str, what: str) -> None:
    print(f"  ok {name}: {what}")


def is_int(v) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def check_service(s, service_type: ServiceType) -> Service:
    assert isinstance(s, Service), type(s)
    assert re.fullmatch(r"[0-9a-f]{24}", s.service_id), s.service_id
    assert s.type_ is service_type
    assert is_int(s.threads) and s.threads >= 1
    assert isinstance(s.expires_at, datetime.datetime) and s.expires_at.tzinfo is not None
    assert isinstance(s.country, str) and isinstance(s.rotation, str)
    assert isinstance(s.auth.login, str) and isinstance(s.auth.password, str)
    assert isinstance(s.whitelist, list)
    assert all(isinstance(e, WhitelistEntry) for e in s.whitelist)
    assert isinstance(s.status, (ServiceStatus, Unset)), s.status
    return s


def balance(c) -> int:
    return ok(call(get_account, client=c), AccountResponse).balance


def main() -> None:
    c = client()

    # -- The docs' usage example: balance check, rotating plans, buy the cheapest, plain-text list.
    acct = ok(call(get_account, client=c), AccountResponse)
    assert isinstance(acct, Account)
    assert is_int(acct.balance), type(acct.balance)  # requirement 8: integers in RUB
    assert acct.currency is Currency.RUB
    assert isinstance(acct.username, str) and isinstance(acct.email, str)
    # The async client the docs advertise decodes the same way.
    async_acct = asyncio.run(get_account.asyncio(client=client(hooks=False)))
    assert isinstance(async_acct, AccountResponse) and async_acct.data.balance == acct.balance
    step("getAccount", f"balance {acct.balance} {acct.currency.value} (int; async too)")

    catalog = ok(call(list_plans, client=c), PlanListResponse)
    assert isinstance(catalog, PlanList) and catalog.plans
    assert {p.type_ for p in catalog.plans} == set(ServiceType)
    v4 = ok(call(list_plans, client=c, type_=ServiceType.IPV4_ROTATING), PlanListResponse).plans
    assert v4 and all(isinstance(p, Plan) and p.type_ is ServiceType.IPV4_ROTATING for p in v4)
    for p in catalog.plans:
        assert is_int(p.price) and is_int(p.threads) and is_int(p.days), p
        assert p.currency is Currency.RUB
    cheapest = min(v4, key=lambda p: p.price)
    step(
        "listPlans",
        f"{len(catalog.plans)} plans, {len(v4)} ipv4; cheapest {cheapest.plan_id} at {cheapest.price}",
    )

    # The purchase is built from the Plan's own `type` (one ServiceType for plans and purchases)
    # with only the two fields the docs' quickstart sends. Nothing else may go on the wire: the
    # spec must not give country/rotation defaults the docs do not state.
    sent.clear()
    mine = ok(
        call(purchase, client=c, body=PurchaseRequest(type_=cheapest.type_, plan_id=cheapest.plan_id)),
        ServiceResponse,
    )
    method, path, body = sent[-1]
    assert (method, path) == ("POST", "/api/v1/purchase"), (method, path)
    assert json.loads(body) == {"type": "ipv4_rotating", "plan_id": cheapest.plan_id}, body
    v4svc = check_service(mine, ServiceType.IPV4_ROTATING)
    assert v4svc.threads == cheapest.threads
    assert isinstance(v4svc.plan_id, Unset) or v4svc.plan_id == cheapest.plan_id
    assert balance(c) == acct.balance - cheapest.price
    step(
        "purchase",
        f"{v4svc.service_id}, sent {body.decode()}, country {v4svc.country!r} chosen by the server",
    )

    text = call(get_proxies, client=c, id=v4svc.service_id, format_=ProxyFormat.TXT)
    assert text.status_code == 200 and text.headers["content-type"].startswith("text/plain")
    # Requirement 7: the raw text body. text/plain is listed first, so the generated client
    # returns a str, exactly the bytes the server sent.
    assert isinstance(text.parsed, str) and text.parsed == text.content.decode()
    assert text.parsed.endswith("\n"), text.parsed
    lines = text.parsed.splitlines()
    assert lines
    for line in lines:
        host, port, login, password = line.split(":")
        assert host and 1 <= int(port) <= 65535, line
        assert (login, password) == (v4svc.auth.login, v4svc.auth.password), line
    step("getProxies format=txt", f"{len(lines)} host:port:login:password line(s), str ending in a newline")

    # -- Every other operation.
    # Trade-off: openapi-python-client takes one media type per response, the first listed. With
    # text/plain first (requirement 7), format=json also comes back as the body's text: the caller
    # decodes it, and the generated ProxyListResponse model types the result.
    j = call(get_proxies, client=c, id=v4svc.service_id, format_=ProxyFormat.JSON)
    assert j.status_code == 200 and j.headers["content-type"].startswith("application/json")
    assert isinstance(j.parsed, str), type(j.parsed)
    raw = json.loads(j.parsed)
    assert raw["status"] == "ok" and isinstance(raw["data"]["servers"], list) and raw["data"]["servers"]
    plist = ProxyListResponse.from_dict(raw).data
    assert isinstance(plist, ProxyList)
    for srv in plist.servers:
        assert isinstance(srv, ProxyServer) and srv.country is GatewayCountry.NL  # IPv4: nl gateway
        assert isinstance(srv.host, str) and is_int(srv.port)
        assert (srv.login, srv.password) == (v4svc.auth.login, v4svc.auth.password)
    step(
        "getProxies format=json",
        f"a str; json.loads + ProxyListResponse.from_dict: {len(plist.servers)} server(s)",
    )

    url = call(
        get_proxies, client=c, id=v4svc.service_id, layout=ProxyLayout.USER_PASS_AT_HOST_PORT, auth=False
    ).parsed
    assert isinstance(url, str) and url.endswith("\n")
    assert all(re.fullmatch(r"[^:@\s]+:\d+", line) for line in url.splitlines()), url
    step("getProxies layout/auth", "user_pass_at_host_port with auth=false: host:port lines")

    v6plan = min((p for p in catalog.plans if p.type_ is ServiceType.IPV6_ROTATING), key=lambda p: p.price)
    # The docs' full example body, country and rotation included.
    docs_body = PurchaseRequest(
        type_=ServiceType.IPV6_ROTATING, plan_id=v6plan.plan_id, country="mixed", rotation="instant"
    )
    v6svc = check_service(
        ok(call(purchase, client=c, body=docs_body), ServiceResponse), ServiceType.IPV6_ROTATING
    )
    assert (v6svc.country, v6svc.rotation) == ("mixed", "instant")
    step("purchase (docs' body)", f"ipv6 {v6svc.service_id}")

    page1 = ok(call(list_services, client=c, status=StatusFilter.ACTIVE, limit=1), ServicePageResponse)
    assert isinstance(page1, ServicePage) and len(page1.services) == 1
    assert isinstance(page1.next_cursor, str), page1.next_cursor
    page2 = ok(call(list_services, client=c, limit=1, cursor=page1.next_cursor), ServicePageResponse)
    assert len(page2.services) == 1 and page2.next_cursor is None, page2.next_cursor
    seen = {s.service_id for s in page1.services + page2.services}
    assert seen == {v4svc.service_id, v6svc.service_id}, seen
    for s in page1.services + page2.services:
        check_service(s, s.type_)
    only_v6 = ok(call(list_services, client=c, type_=ServiceType.IPV6_ROTATING), ServicePageResponse)
    assert [s.service_id for s in only_v6.services] == [v6svc.service_id]
    step(
        "listServices",
        "limit=1: a page with next_cursor, then the last page (next_cursor null); ?type filter",
    )

    got = check_service(
        ok(call(get_service, client=c, id=v4svc.service_id), ServiceResponse), ServiceType.IPV4_ROTATING
    )
    assert got.service_id == v4svc.service_id and got.auth.login == v4svc.auth.login
    step("getService", f"{got.service_id}, expires {got.expires_at.isoformat()}")

    before = balance(c)
    ext = check_service(
        ok(call(extend_service, client=c, id=v4svc.service_id), ServiceResponse), ServiceType.IPV4_ROTATING
    )
    assert ext.expires_at > got.expires_at, (ext.expires_at, got.expires_at)
    assert balance(c) == before - cheapest.price
    step(
        "extendService",
        f"expires {got.expires_at.isoformat()} -> {ext.expires_at.isoformat()}, charged {cheapest.price}",
    )

    wl = WhitelistRequest(whitelisted_ips=["203.0.113.10", "198.51.100.4"], labels=["home", "office"])
    wsvc = ok(call(replace_whitelist, client=c, id=v4svc.service_id, body=wl), ServiceResponse)
    check_service(wsvc, ServiceType.IPV4_ROTATING)
    assert [(e.ip, e.label) for e in wsvc.whitelist] == [("203.0.113.10", "home"), ("198.51.100.4", "office")]
    assert json.loads(sent[-1][2]) == wl.to_dict()
    step("replaceWhitelist", "2 entries with labels, typed WhitelistEntry")

    creds = ok(call(regenerate_credentials, client=c, id=v4svc.service_id), ServiceResponse)
    check_service(creds, ServiceType.IPV4_ROTATING)
    assert (creds.auth.login, creds.auth.password) != (v4svc.auth.login, v4svc.auth.password)
    fresh = call(get_proxies, client=c, id=v4svc.service_id).parsed
    assert isinstance(fresh, str) and f":{creds.auth.login}:{creds.auth.password}" in fresh
    step("regenerateCredentials", "new login/password, used by the next proxy list")

    moved = ok(
        call(change_country, client=c, id=v6svc.service_id, body=CountryRequest(country="us")),
        ServiceResponse,
    )
    assert check_service(moved, ServiceType.IPV6_ROTATING).country == "us"
    # The docs' example is `instant`; any 2-32 alphanumerics is a valid value, so change it and back.
    r1 = ok(
        call(change_rotation, client=c, id=v6svc.service_id, body=RotationRequest(rotation="sticky")),
        ServiceResponse,
    )
    assert r1.rotation == "sticky"
    r2 = ok(
        call(change_rotation, client=c, id=v6svc.service_id, body=RotationRequest(rotation="instant")),
        ServiceResponse,
    )
    assert r2.rotation == "instant"
    step("changeCountry/changeRotation", "ipv6 service: country us, rotation sticky -> instant")

    logs = ok(call(list_logs, client=c, limit=5), LogPageResponse)
    assert isinstance(logs, LogPage) and len(logs.logs) == 5 and isinstance(logs.next_cursor, str)
    for e in logs.logs:
        assert isinstance(e, LogEntry) and isinstance(e.created_at, datetime.datetime)
        assert is_int(e.http_status) and isinstance(e.method, str) and e.path.startswith("/")
    older = ok(call(list_logs, client=c, limit=5, cursor=logs.next_cursor), LogPageResponse)
    assert older.logs and {e.log_id for e in older.logs}.isdisjoint(e.log_id for e in logs.logs)
    recent = ok(call(list_logs, client=c, since=logs.logs[-1].created_at), LogPageResponse)
    assert recent.logs and all(e.created_at >= logs.logs[-1].created_at for e in recent.logs)
    step("listLogs", "typed LogEntry pages, cursor and ?since")

    # -- The documented errors, each as the typed ErrorEnvelope.
    fails(call(get_service, client=c, id="ffffffffffffffffffffffff"), 404, ErrorCode.NOT_FOUND)
    fails(call(get_proxies, client=c, id="ffffffffffffffffffffffff"), 404, ErrorCode.NOT_FOUND)
    fails(call(get_service, client=c, id="not-a-hex-id"), 400, ErrorCode.INVALID_ID)
    wrong_type = PurchaseRequest(type_=ServiceType.IPV4_ROTATING, plan_id=v6plan.plan_id)
    fails(call(purchase, client=c, body=wrong_type), 400, ErrorCode.INVALID_PLAN_ID)
    fails(
        call(change_country, client=c, id=v4svc.service_id, body=CountryRequest(country="de")),
        400,
        ErrorCode.UNSUPPORTED_FOR_TYPE,
    )
    fails(call(get_account, client=client(token="opx_live_" + "0" * 32)), 401, ErrorCode.INVALID_TOKEN)
    poor = client(mock_url("POOR"))
    assert balance(poor) < cheapest.price
    fails(
        call(purchase, client=poor, body=PurchaseRequest(type_=cheapest.type_, plan_id=cheapest.plan_id)),
        402,
        ErrorCode.INSUFFICIENT_BALANCE,
    )
    step(
        "errors",
        "404 not_found, 400 invalid_id/invalid_plan_id/unsupported_for_type, 401 invalid_token, "
        "402 insufficient_balance",
    )

    # 429: the documented global bucket (300 req/min) on a fresh mock.
    limited = client(mock_url("LIMITED"))
    first = call(get_account, client=limited)
    limit = int(first.headers["x-ratelimit-limit"])  # headers are not typed: raw strings
    served = 1
    for _ in range(limit):
        r = call(get_account, client=limited)
        if r.status_code != 200:
            break
        served += 1
    fails(r, 429, ErrorCode.RATE_LIMITED)
    assert served == limit == 300, (served, limit)
    assert int(r.headers["retry-after"]) > 0 and r.headers["x-ratelimit-remaining"] == "0"
    step("errors", f"429 rate_limited after {served} requests, Retry-After {r.headers['retry-after']}s")

    # An error code the spec does not know yet still parses: `code` is anyOf [ErrorCode, string].
    future = ErrorEnvelope.from_dict(
        {"status": "error", "error": {"code": "brand_new_code", "message": "new"}}
    )
    assert future.error.code == "brand_new_code" and not isinstance(future.error.code, ErrorCode)
    step("errors", "an unknown code (brand_new_code) parses as a plain str")

    # -- Every generated operation was exercised.
    ops = {
        m.name
        for pkg in pkgutil.iter_modules(op_proxy_api_client.api.__path__)
        for m in pkgutil.iter_modules(importlib.import_module(f"op_proxy_api_client.api.{pkg.name}").__path__)
    }
    assert ops == called, f"operations not exercised: {sorted(ops - called)}"
    print(f"python client: all {len(ops)} generated operations passed")


if __name__ == "__main__":
    main()
