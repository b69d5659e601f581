"""RabbitMQ requests in, results out (``source.kind: amqp``): the only package that imports pika.

Importing it registers the ``amqp`` source with ``bridgeway run``. See docs/amqp.md for message formats,
headers, topology and dispositions.
"""

from adapters.amqp.errors import AmqpError, BrokerUnavailable, PoisonMessage, TopologyError
from adapters.amqp.events import EventSink
from adapters.amqp.service import AmqpPipeline, amqp_source
from adapters.amqp.settings import AmqpPipelineSettings, AmqpSourceSettings
from adapters.runner import register_source

__all__ = [
    "AmqpError",
    "AmqpPipeline",
    "AmqpPipelineSettings",
    "AmqpSourceSettings",
    "BrokerUnavailable",
    "EventSink",
    "PoisonMessage",
    "TopologyError",
    "amqp_source",
]

register_source("amqp", amqp_source)
