"""The celery runner's fixtures (a RabbitMQ vhost of the test's own, real `pixmill worker` processes)."""

from tests.distributed.conftest import broker_url, celery_settings, start_worker  # noqa: F401  (fixtures)
