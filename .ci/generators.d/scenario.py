"""A test scenario from Python, as a user of another language writes one: the mock is set up and
inspected only through its control API (`/_mock/`, plain HTTP with the standard library), and the
API is called only through the client `openapi-python-client` generated from spec/openapi.json.

    seed a service, buy one, move the clock past expiry and see both expire, inject a fault and
    see it, read the stats.

Run by `.ci/generators` with OPX_BASE_URL (a fresh mock's /api/v1) and OPX_TOKEN.
"""

import json
import urllib.request

from op_proxy_api_client import AuthenticatedClient
from op_proxy_api_client.api.account import get_account
from op_proxy_api_client.api.catalog import list_plans
from op_proxy_api_client.api.services import get_service, list_services, purchase
from op_proxy_api_client.models import (
    PlanListResponse,
    PurchaseRequest,
    ServicePageResponse,
    ServiceResponse,
    StatusFilter,
)

from mock_env import BASE, TOKEN

CONTROL = BASE.rsplit("/api/", 1)[0] + "/_mock"


def control(method: str, path: str, body=None):
    data = None if body is None else json.dumps(body).encode()
    req = urllib.request.Request(CONTROL + path, data=data, method=method)
    req.add_header("Content-Type", "application/json")
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read())


def control_error(method: str, path: str, body) -> str:
    try:
        control(method, path, body)
    except urllib.error.HTTPError as e:
        assert e.code == 400, e.code
        return json.loads(e.read())["error"]
    raise AssertionError(f"{path} accepted {body}")


def main() -> None:
    c = AuthenticatedClient(base_url=BASE, token=TOKEN)
    control("POST", "/reset")

    # Seed: one IPv6 service that expires in an hour, no charge.
    seeded = control("POST", "/services", {"count": 1, "type": "ipv6_rotating", "expires_in_seconds": 3600})
    (sid,) = seeded["service_ids"]
    balance = get_account.sync(client=c).data.balance
    assert balance == 100000, balance

    # Buy the cheapest IPv4 plan through the generated client.
    plans = list_plans.sync(client=c)
    assert isinstance(plans, PlanListResponse)
    cheapest = min((p for p in plans.data.plans if p.type_.value == "ipv4_rotating"), key=lambda p: p.price)
    bought = purchase.sync(client=c, body=PurchaseRequest(type_=cheapest.type_, plan_id=cheapest.plan_id))
    assert isinstance(bought, ServiceResponse), bought
    assert get_account.sync(client=c).data.balance == balance - cheapest.price

    # Past expiry: both services expire, on the mock's clock.
    control("POST", "/clock/advance", {"seconds": 40 * 86400})
    for service_id in (sid, bought.data.service_id):
        s = get_service.sync(id=service_id, client=c)
        assert isinstance(s, ServiceResponse), s
        status = getattr(s.data.status, "value", s.data.status)
        assert status == "expired", s.data.status
    active = list_services.sync(client=c)
    assert isinstance(active, ServicePageResponse) and active.data.services == [], active
    expired = list_services.sync(client=c, status=StatusFilter.EXPIRED)
    assert isinstance(expired, ServicePageResponse) and len(expired.data.services) == 2, expired

    # A fault: the next account read answers 503 with the envelope.
    control("POST", "/faults", {"operation": "getAccount", "fault": {"kind": "status", "status": 503}})
    r = get_account.sync_detailed(client=c)
    assert r.status_code == 503, r.status_code
    assert get_account.sync(client=c).data.balance == balance - cheapest.price
    assert "unknown operation" in control_error("POST", "/faults", {"operation": "get_account", "fault": {"kind": "html502"}})

    # What the mock saw.
    stats = control("GET", "/stats")
    assert stats["charges"] == 1, stats
    assert stats["responses_by_status"]["503"] == 1, stats
    assert stats["requests"] >= 9, stats
    print(f"scenario passed: {stats}")


if __name__ == "__main__":
    main()
