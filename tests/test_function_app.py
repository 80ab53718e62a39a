"""The Azure wiring, without the Functions host: import function_app.py as the Python
worker would, call its HTTP function with `azure.functions.HttpRequest`, and fire each
timer and Service Bus trigger to see that it calls the same handler the local runner
calls (functions/jobs.py registries).

The container is the default one (as in Azure), on the local backend in a temp dir.
"""

from __future__ import annotations

import asyncio
import importlib
import json
import sys
import uuid
from datetime import timedelta

import azure.functions as func
import pytest
from azure.functions.servicebus import ServiceBusMessage
from azure.functions.timer import TimerRequest

from functions import jobs, local_runner
from shared import bootstrap
from shared.domain.timestamps import to_iso
from shared.names import QUEUES, SERVICE_BUS_CONNECTION, TIMERS, binding, queue_setting
from shared.records import IDEMPOTENCY
from shared.services.seed import seed_directory
from shared.settings import get_settings


@pytest.fixture(scope="module")
def azure_app(tmp_path_factory):
    """function_app imported fresh against a default container in a temp data dir."""
    mp = pytest.MonkeyPatch()
    mp.setenv("VIGIL_DATA_DIR", str(tmp_path_factory.mktemp("function-app")))
    mp.setenv("VIGIL_BACKEND", "local")
    get_settings.cache_clear()
    mp.setattr(bootstrap, "_default", None)
    sys.modules.pop("function_app", None)
    module = importlib.import_module("function_app")
    container = bootstrap.default_container()
    seed_directory(container)
    # get_functions() may be called once per app instance (a second call raises on duplicates).
    functions = {f.get_function_name(): f for f in module.app.get_functions()}
    loop = asyncio.new_event_loop()
    yield module, container, functions, loop
    if module.app.startup_task_done:
        # Run the ASGI lifespan shutdown on the loop it started on (the app's __del__
        # would try again on a fresh loop and find the lifespan already gone).
        loop.run_until_complete(module.app.middleware.notify_shutdown())
    loop.close()
    container.close()
    sys.modules.pop("function_app", None)
    mp.undo()
    get_settings.cache_clear()


def _trigger(fn) -> dict:
    return fn.get_trigger().get_dict_repr()


def _http(azure_app, method: str, path: str, *, headers=None, body: bytes = b"", params=None) -> func.HttpResponse:
    _, _, functions, loop = azure_app
    http = functions["http_app_func"]
    req = func.HttpRequest(method, "https://vigil-uk.azurewebsites.net" + path, headers=headers or {}, params=params or {}, body=body)
    return loop.run_until_complete(http.get_user_function()(req, None))


def _token(container, org: str, role: str) -> dict[str, str]:
    from functions.cli import demo_token

    return {"Authorization": "Bearer " + demo_token(container, org, role)}


def test_http_function_is_anonymous_catch_all(azure_app):
    trig = _trigger(azure_app[2]["http_app_func"])
    assert trig["type"] == "httpTrigger"
    assert str(trig["authLevel"].value) == "anonymous"
    assert trig["route"] == "/{*route}"


def test_host_json_keeps_the_api_prefix_of_the_local_host():
    """routePrefix "" in host.json: the app's own /api/v1 paths are the public paths in both hosts."""
    from pathlib import Path

    host = json.loads((Path(__file__).resolve().parent.parent / "host.json").read_text())
    assert host["extensions"]["http"]["routePrefix"] == ""


def test_http_function_answers(azure_app):
    _, container, _, _ = azure_app
    health = _http(azure_app, "GET", "/api/v1/healthz")
    assert health.status_code == 200
    assert json.loads(health.get_body())["checks"]["records"] == "ok"
    # A report through the Azure adapter, then the 404 for another organisation.
    from functions.http.app import create_app

    example = create_app(container).openapi()["components"]["schemas"]["IncidentIn"]["examples"][0]
    created = _http(
        azure_app,
        "POST",
        "/api/v1/incidents",
        headers={**_token(container, "northwind", "Retailer.Investigator"), "Content-Type": "application/json"},
        body=json.dumps(example).encode(),
    )
    assert created.status_code == 201, created.get_body()
    incident = json.loads(created.get_body())
    assert created.headers["ETag"] == incident["etag"]
    other = _http(azure_app, "GET", f"/api/v1/incidents/{incident['id']}", headers=_token(container, "contoso", "Retailer.Investigator"))
    assert other.status_code == 404 and other.mimetype == "application/problem+json"
    assert example["narrative"].encode() not in other.get_body()
    unsigned = _http(azure_app, "GET", "/api/v1/incidents")
    assert unsigned.status_code == 401 and unsigned.headers["WWW-Authenticate"].startswith("Bearer")


def test_every_timer_job_has_a_trigger_on_its_schedule_setting(azure_app):
    functions = azure_app[2]
    jobs.load_all()
    timers = {name: f for name, f in functions.items() if _trigger(f)["type"] == "timerTrigger"}
    assert set(timers) == {"timer_" + name.replace("-", "_") for name in jobs.TIMER_JOBS}
    for name in jobs.TIMER_JOBS:
        trig = _trigger(timers["timer_" + name.replace("-", "_")])
        assert trig["schedule"] == binding(TIMERS[name])
        assert trig["runOnStartup"] is False


@pytest.mark.parametrize("name", sorted(TIMERS))
def test_timer_trigger_calls_the_local_runners_job(azure_app, monkeypatch, name):
    _, container, functions, _ = azure_app
    jobs.load_all()
    # Every timer named in shared/names.py must have a job behind it: a missing one would
    # leave its Azure trigger with nothing to run.
    assert name in jobs.TIMER_JOBS, f"timer {name} has a schedule setting but no registered job"
    calls = []
    original = jobs.TIMER_JOBS[name]

    def recorder(c, as_of):
        calls.append((c, as_of))
        return original.run(c, as_of)

    monkeypatch.setitem(jobs.TIMER_JOBS, name, jobs.Timer(name, original.default_schedule, recorder))
    before = container.clock.now()
    functions["timer_" + name.replace("-", "_")].get_user_function()(TimerRequest(past_due=False))
    after = container.clock.now()
    assert len(calls) == 1
    assert calls[0][0] is container
    # The job runs for the moment the trigger fired, in UTC.
    as_of = calls[0][1]
    assert as_of.utcoffset() == timedelta(0)
    assert before <= as_of <= after


def test_local_runner_runs_the_same_registry(azure_app, monkeypatch):
    """The local runner's timer loop and queue workers read the same dicts the triggers do."""
    import threading

    _, container, functions, _ = azure_app
    jobs.load_all()
    started = []

    class FakeThread:
        """Records what the runner would start, without starting it."""

        def __init__(self, *, target, args, name, daemon):
            started.append((target, args))

        def start(self):
            pass

    from types import SimpleNamespace

    monkeypatch.setattr(local_runner, "threading", SimpleNamespace(Thread=FakeThread, Event=threading.Event))
    local_runner.start_background(container, threading.Event())
    queues = sorted(args[1] for target, args in started if target is local_runner.queue_worker)
    assert queues == sorted(jobs.QUEUE_HANDLERS)
    assert sorted(n.removeprefix("queue_") for n, f in functions.items() if _trigger(f)["type"] == "serviceBusTrigger") == queues


def _message(body: bytes, *, delivery_count: int = 1) -> ServiceBusMessage:
    return ServiceBusMessage(
        body=body, message_id=uuid.uuid4().hex, delivery_count=delivery_count, application_properties={}, user_properties={}
    )


@pytest.mark.parametrize("logical", sorted(QUEUES))
def test_queue_trigger_calls_the_local_runners_handler(azure_app, monkeypatch, logical):
    _, container, functions, _ = azure_app
    jobs.load_all()
    # Every queue named in shared/names.py must have a handler and a trigger: messages on
    # a queue nobody reads would pile up unseen.
    assert logical in jobs.QUEUE_HANDLERS, f"queue {logical} has no registered handler"
    assert "queue_" + logical in functions, f"queue {logical} has no Service Bus trigger"
    fn = functions["queue_" + logical]
    trig = _trigger(fn)
    assert trig["type"] == "serviceBusTrigger"
    assert trig["queueName"] == binding(queue_setting(logical)) and trig["connection"] == SERVICE_BUS_CONNECTION
    calls = []
    monkeypatch.setitem(jobs.QUEUE_HANDLERS, logical, lambda c, body, delivery: calls.append((c, body, delivery)))
    fn.get_user_function()(_message(json.dumps({"probe": logical}).encode(), delivery_count=3))
    assert calls == [(container, {"probe": logical}, 3)]
    # A body that can never parse is recorded and completed, not raised (no wasted redeliveries).
    fn.get_user_function()(_message(b"\xff not json"))
    assert len(calls) == 1


def test_expiry_sweep_runs_for_real_through_its_trigger(azure_app):
    """The real job behind the trigger: an expired idempotency key is deleted, a live one kept."""
    _, container, functions, _ = azure_app
    now = container.clock.now()
    expired, live = "expired-" + uuid.uuid4().hex, "live-" + uuid.uuid4().hex
    with container.records.unit_of_work() as uow:
        uow.insert(
            IDEMPOTENCY.name,
            "northwind",
            {"id": expired, "fingerprint": "x", "status": 201, "body": {}, "expires_at": to_iso(now - timedelta(minutes=1))},
        )
        uow.insert(
            IDEMPOTENCY.name,
            "northwind",
            {"id": live, "fingerprint": "x", "status": 201, "body": {}, "expires_at": to_iso(now + timedelta(hours=1))},
        )
    functions["timer_expiry_sweep"].get_user_function()(TimerRequest(past_due=True))
    with container.records.unit_of_work() as uow:
        assert uow.get(IDEMPOTENCY.name, "northwind", expired) is None
        assert uow.get(IDEMPOTENCY.name, "northwind", live) is not None


def _shortest_gap_seconds(expression: str) -> float:
    """The shortest time between two of a schedule's next 200 runs."""
    from datetime import UTC, datetime

    from functions import ncrontab

    at = datetime(2026, 1, 5, tzinfo=UTC)
    runs = [at := ncrontab.next_after(expression, at) for _ in range(200)]
    return min((b - a).total_seconds() for a, b in zip(runs, runs[1:], strict=False))


def test_no_timer_runs_more_often_than_every_30_seconds():
    """Flex Consumption bills each execution at least a second: a timer every second is
    86,400 billed executions a day (docs/deploy.md, cost table)."""
    jobs.load_all()
    gaps = {name: _shortest_gap_seconds(t.default_schedule) for name, t in jobs.TIMER_JOBS.items()}
    assert {name: gap for name, gap in gaps.items() if gap < 30} == {}
    assert gaps["outbox-relay"] == 30


def test_the_outbox_relay_timer_runs_without_a_schedule_monitor(azure_app):
    """Its next run does a missed run's work; the other timers keep the host's monitor."""
    functions = azure_app[2]
    monitors = {name: _trigger(functions["timer_" + name.replace("-", "_")])["useMonitor"] for name in jobs.TIMER_JOBS}
    assert monitors.pop("outbox-relay") is False
    assert set(monitors.values()) == {True}


def test_a_transient_failure_in_the_trigger_schedules_a_backed_off_copy_and_completes(azure_app, monkeypatch):
    """Service Bus would redeliver a raised message at once: the trigger backs off like the
    local runner instead, and the copy carries the deliveries made so far."""
    _, container, functions, _ = azure_app
    from shared.services.d2p.delivery import DispatchRetry

    def failing(c, body, delivery):
        raise DispatchRetry("SendGrid answered 503")

    monkeypatch.setitem(jobs.QUEUE_HANDLERS, "d2p_dispatch", failing)
    monkeypatch.setattr("functions.triggers.random.random", lambda: 0.5)
    message = ServiceBusMessage(
        body=json.dumps({"dispatch_id": "d1"}).encode(),
        message_id="d1",
        delivery_count=1,
        application_properties={"vigil-deliveries": 2},
        user_properties={},
    )
    sent = []
    monkeypatch.setattr(container.queue, "send", lambda queue, body, **kw: sent.append((queue, body, kw)) or True)
    # Returns normally: the host completes this delivery.
    functions["queue_d2p_dispatch"].get_user_function()(message)
    # Third delivery: half (the jitter) of min(cap, base * 2^2), from the d2p_retry_* settings.
    s = container.settings
    delay = min(s.d2p_retry_cap_seconds, s.d2p_retry_base_seconds * 4) * 0.5
    assert sent == [("d2p_dispatch", {"dispatch_id": "d1"}, {"message_id": "d1#retry3", "delay_seconds": delay, "prior_deliveries": 3})]


def test_a_retry_copy_on_the_local_queue_goes_on_counting_deliveries(tmp_path):
    from shared.adapters.local.sqlite_queue import SqliteQueue

    queue = SqliteQueue(tmp_path / "queue.db")
    queue.send("d2p_dispatch", {"dispatch_id": "d1"}, message_id="d1#retry3", prior_deliveries=3)
    [copy] = queue.receive("d2p_dispatch")
    assert copy.delivery_count == 4


def _recorded(container, message_id: str):
    return [e for e in container.dead_letters.recorded("d2p_dispatch") if e.message_id == message_id]


def _sent_spy(monkeypatch, container) -> list:
    sent: list = []
    real = container.queue.send
    monkeypatch.setattr(container.queue, "send", lambda queue, body, **kw: sent.append((queue, body, kw)) or real(queue, body, **kw))
    return sent


def test_a_poison_message_is_recorded_with_its_reason_and_completed(azure_app, monkeypatch):
    """The standard binding cannot dead-letter: rather than raise into ten immediate
    redeliveries and a reasonless dead-letter, the trigger records it and returns."""
    _, container, functions, _ = azure_app
    sent = _sent_spy(monkeypatch, container)
    missing = "d9-" + uuid.uuid4().hex
    message = ServiceBusMessage(
        body=json.dumps({"dispatch_id": missing, "owner_org": "northwind"}).encode(),
        message_id=missing,
        delivery_count=1,
        application_properties={},
        user_properties={},
    )
    # The real handler: the message names a dispatch that does not exist. Returns: the host completes it.
    assert functions["queue_d2p_dispatch"].get_user_function()(message) is None
    [dead] = _recorded(container, missing)
    assert dead.reason == f"UnknownDispatch: dispatch {missing} does not exist"
    assert (dead.body, dead.delivery_count, dead.source) == ({"dispatch_id": missing, "owner_org": "northwind"}, 1, "recorded")
    assert dead.dead_lettered_at is not None and dead.dead_lettered_at <= to_iso(container.clock.now())
    assert sent == []
    # Operators see it in the one list, over HTTP as through the service.
    listed = _http(
        azure_app, "GET", "/api/v1/operations/dead-letters/d2p", headers=_token(container, "vigil-platform", "Platform.Operator")
    )
    assert listed.status_code == 200
    [item] = [i for i in json.loads(listed.get_body())["items"] if i["message_id"] == missing]
    assert item["dispatch_id"] == missing and item["source"] == "recorded" and item["reason"].startswith("UnknownDispatch")


def test_the_last_delivery_is_recorded_not_rescheduled_and_replays_once(azure_app, monkeypatch):
    _, container, functions, _ = azure_app
    from shared.services.d2p.delivery import DispatchRetry

    def transient(c, body, delivery):
        raise DispatchRetry("SendGrid answered 503")

    monkeypatch.setitem(jobs.QUEUE_HANDLERS, "d2p_dispatch", transient)
    sent = _sent_spy(monkeypatch, container)
    limit = container.settings.d2p_max_deliveries
    did = "d8-" + uuid.uuid4().hex
    # A retry's copy at its first broker delivery, carrying the deliveries made before it.
    message = ServiceBusMessage(
        body=json.dumps({"dispatch_id": did}).encode(),
        message_id=f"{did}#retry{limit - 1}",
        delivery_count=1,
        application_properties={"vigil-deliveries": limit - 1},
        user_properties={},
    )
    functions["queue_d2p_dispatch"].get_user_function()(message)
    [dead] = _recorded(container, f"{did}#retry{limit - 1}")
    assert dead.reason == f"MaxDeliveryCountExceeded ({limit}): DispatchRetry: SendGrid answered 503"
    assert dead.delivery_count == limit and sent == []

    assert container.d2p.delivery.replay_dead_letters([dead.message_id]) == 1
    [(queue, body, kw)] = sent
    assert (queue, body) == ("d2p_dispatch", {"dispatch_id": did}) and kw["message_id"].startswith(f"{did}#replay")
    assert _recorded(container, dead.message_id) == []
    # Replaying again puts nothing back: the record went with the first replay.
    assert container.d2p.delivery.replay_dead_letters([dead.message_id]) == 0
    back = [m for m in container.queue.receive("d2p_dispatch", max_messages=100) if m.message_id.startswith(did)]
    assert [(m.body, m.delivery_count) for m in back] == [({"dispatch_id": did}, 1)]
    for m in back:
        container.queue.complete(m)


def test_an_unreadable_message_is_recorded_without_its_body(azure_app):
    _, container, functions, _ = azure_app
    message = _message(b"\xff not json")
    functions["queue_footage_mail"].get_user_function()(message)
    [dead] = [e for e in container.dead_letters.recorded("footage_mail") if e.message_id == message.message_id]
    assert dead.body is None and dead.reason == "unreadable: the body is not a JSON object"
    # Nothing to put back: it stays listed (until it expires) rather than vanish unread.
    assert container.dead_letters.replay("footage_mail", [message.message_id]) == 0
    assert message.message_id in [e.message_id for e in container.dead_letters.recorded("footage_mail")]


def test_one_redelivery_policy_for_both_hosts():
    from shared.services.d2p.delivery import DispatchRetry, UnknownDispatch
    from shared.settings import Settings

    s = Settings(d2p_retry_base_seconds=2.0, d2p_retry_cap_seconds=60.0, d2p_max_deliveries=5, webhook_queue_max_deliveries=3)
    assert jobs.after_failure(s, "d2p_dispatch", 1, DispatchRetry("x"), jitter=1.0) == jobs.Redelivery(True, 2.0, "DispatchRetry: x")
    assert jobs.after_failure(s, "d2p_dispatch", 4, DispatchRetry("x"), jitter=0.5).delay_seconds == 8.0
    assert jobs.after_failure(s, "d2p_dispatch", 9, DispatchRetry("x"), jitter=1.0).retry is False
    last = jobs.after_failure(s, "d2p_dispatch", 5, DispatchRetry("x"), jitter=1.0)
    assert (last.retry, last.reason) == (False, "MaxDeliveryCountExceeded (5): DispatchRetry: x")
    assert jobs.after_failure(s, "webhook_deliveries", 3, RuntimeError("y"), jitter=1.0).retry is False
    poison = jobs.after_failure(s, "d2p_dispatch", 1, UnknownDispatch("dispatch d9 does not exist"), jitter=1.0)
    assert (poison.retry, poison.reason) == (False, "UnknownDispatch: dispatch d9 does not exist")
