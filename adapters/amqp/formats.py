"""Which codecs a pipeline reads requests with and writes replies with, from its settings."""

from __future__ import annotations

from adapters.amqp.messages import JSON, JsonRecords, RecordCodec
from adapters.amqp.scoring import Formats
from adapters.amqp.settings import AmqpPipelineSettings
from adapters.pipeline import ScoringPipeline

__all__ = ["formats_for"]


def formats_for(settings: AmqpPipelineSettings, pipeline: ScoringPipeline) -> Formats:
    """Request codecs by content type (only those on the allow-list), the default for messages without a
    content type (``input.format``), and the reply codec (``output.format``)."""
    json_codec = JsonRecords()
    by_type: dict[str, RecordCodec] = {JSON: json_codec}
    default: RecordCodec = json_codec
    reply: RecordCodec = json_codec
    source = settings.source
    return Formats(
        by_content_type={t: c for t, c in by_type.items() if t in source.content_types},
        default=default,
        reply=reply,
        allowed=source.content_types,
        max_records=source.max_records_per_message,
    )
