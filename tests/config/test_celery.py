"""The Celery app: two queues, JSON only, late acks, time limits, the render routed to the gpu queue."""

from __future__ import annotations

from config.celery import app


def _queue_for(task_name: str) -> str:
    route = app.amqp.router.route({}, task_name, args=(), kwargs={})
    return route["queue"].name


def test_the_render_goes_to_the_gpu_queue_and_the_rest_to_cpu() -> None:
    assert _queue_for("generation.tasks.render_job") == "gpu"
    assert _queue_for("generation.tasks.sign_job") == "cpu"
    assert _queue_for("webhooks.tasks.deliver_webhook") == "cpu"
    assert _queue_for("accounts.tasks.audit_verify_chain") == "cpu"


def test_only_json_is_spoken_and_tasks_are_acked_late_with_time_limits() -> None:
    conf = app.conf
    assert conf.task_serializer == "json" and conf.accept_content == ["json"]
    assert conf.task_acks_late is True and conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert {q.name for q in conf.task_queues} == {"cpu", "gpu"}


def test_the_audit_task_is_registered() -> None:
    app.loader.import_default_modules()
    assert "accounts.tasks.audit_verify_chain" in app.tasks
