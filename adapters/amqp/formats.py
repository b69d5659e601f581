"""Which codecs a pipeline reads requests with and writes replies with, from its settings."""

from __future__ import annotations

from adapters.amqp.fixed import OCTET_STREAM, FixedRecords, FixedResults
from adapters.amqp.messages import JSON, JsonRecords, ReplyEncoder, RequestDecoder
from adapters.amqp.scoring import Formats
from adapters.amqp.settings import AmqpPipelineSettings
from adapters.config_formats import FixedInput, FixedOutput
from adapters.pipeline import MessageRef, ScoringPipeline

__all__ = ["formats_for"]


def formats_for(settings: AmqpPipelineSettings, pipeline: ScoringPipeline) -> Formats:
    """Request decoders by content type (only those on ``source.content_types``), the one for messages
    without a content type (``input.format``), and the reply encoder (``output.format``).

    JSON requests are always readable (when allowed); fixed-width ones need ``input.format: fixed`` and
    its copybook. Raises CopybookSyntaxError / OSError for a copybook that cannot be read, ResultLayoutError
    for a result copybook whose fields the results do not have.
    """
    json_codec = JsonRecords()
    decoders: dict[str, RequestDecoder] = {JSON: json_codec}
    default: RequestDecoder = json_codec
    if isinstance(settings.input, FixedInput):
        default = decoders[OCTET_STREAM] = FixedRecords(settings.input)
    reply: ReplyEncoder = json_codec
    if isinstance(settings.output, FixedOutput):
        reply = FixedResults(settings.output, pipeline.result_columns(MessageRef((), ())))
    source = settings.source
    return Formats(
        by_content_type={t: c for t, c in decoders.items() if t in source.content_types},
        default=default,
        reply=reply,
        allowed=source.content_types,
        max_records=source.max_records_per_message,
    )
