from django.apps import AppConfig


class GpuWorkerConfig(AppConfig):
    """Registers the gpu queue's tasks; the engine itself (gpu_worker.engine) never imports Django."""

    name = "gpu_worker"
