"""Pure conversions of model descriptions: metadata, configuration, statistics and the repository index.

The other half of ``gateway.convert`` (which handles inference calls). ModelConfig follows the subset of
Triton's ``model_config.proto`` that Triton's own tools read: name, platform, max_batch_size, inputs and
outputs with ``TYPE_*`` and ``dims`` (batch axis excluded when batching), dynamic_batching. model.yaml's
description and field mapping travel in ``parameters`` as JSON strings (keys below), so a remote adapter can
map records to tensors without a copy of the model repository.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from gateway.datatypes import DATATYPES
from gateway.types import (
    BatchingInfo,
    DurationStat,
    ModelConfigInfo,
    ModelIndexEntry,
    ModelMetadata,
    ModelStats,
    TensorFields,
    TensorSpec,
)
from protos import model_config_pb, pb

__all__ = [
    "DESCRIPTION_PARAMETER",
    "INPUT_FIELDS_PARAMETER",
    "OUTPUT_FIELDS_PARAMETER",
    "config_from_pb",
    "config_to_pb",
    "index_to_pb",
    "metadata_from_pb",
    "metadata_to_pb",
    "statistics_to_pb",
]

DESCRIPTION_PARAMETER = "bridgeway.description"
INPUT_FIELDS_PARAMETER = "bridgeway.input_fields"
OUTPUT_FIELDS_PARAMETER = "bridgeway.output_fields"

_BY_TRITON = {d.triton: d.name for d in DATATYPES}
_BY_PROTOCOL = {d.name: d.triton for d in DATATYPES}


def _tensor_metadata(specs: Iterable[TensorSpec]) -> list[pb.ModelMetadataResponse.TensorMetadata]:
    return [
        pb.ModelMetadataResponse.TensorMetadata(name=s.name, datatype=s.datatype, shape=s.shape)
        for s in specs
    ]


def metadata_to_pb(metadata: ModelMetadata) -> pb.ModelMetadataResponse:
    return pb.ModelMetadataResponse(
        name=metadata.name,
        versions=metadata.versions,
        platform=metadata.platform,
        inputs=_tensor_metadata(metadata.inputs),
        outputs=_tensor_metadata(metadata.outputs),
    )


def metadata_from_pb(msg: pb.ModelMetadataResponse) -> ModelMetadata:
    return ModelMetadata(
        name=msg.name,
        versions=tuple(msg.versions),
        platform=msg.platform,
        inputs=tuple(TensorSpec(t.name, t.datatype, tuple(t.shape)) for t in msg.inputs),
        outputs=tuple(TensorSpec(t.name, t.datatype, tuple(t.shape)) for t in msg.outputs),
    )


def _fields_json(fields: Sequence[TensorFields]) -> str:
    return json.dumps([{"tensor": f.tensor, "fields": list(f.fields), "columns": f.columns} for f in fields])


def _fields_from_json(text: str) -> tuple[TensorFields, ...]:
    if not text:
        return ()
    return tuple(
        TensorFields(str(item["tensor"]), tuple(str(n) for n in item["fields"]), bool(item["columns"]))
        for item in json.loads(text)
    )


def _batching_to_pb(batching: BatchingInfo) -> model_config_pb.ModelDynamicBatching:
    return model_config_pb.ModelDynamicBatching(
        preferred_batch_size=batching.preferred_batch_sizes,
        max_queue_delay_microseconds=batching.max_queue_delay_us,
        default_queue_policy=model_config_pb.ModelQueuePolicy(max_queue_size=batching.max_queue_size),
    )


def config_to_pb(config: ModelConfigInfo) -> model_config_pb.ModelConfig:
    """The Triton-compatible ModelConfig of one model version."""
    msg = model_config_pb.ModelConfig(
        name=config.name,
        platform=config.platform,
        max_batch_size=config.max_batch_size,
        input=[
            model_config_pb.ModelInput(
                name=s.name, data_type=model_config_pb.DataType.Value(_BY_PROTOCOL[s.datatype]), dims=s.shape
            )
            for s in config.inputs
        ],
        output=[
            model_config_pb.ModelOutput(
                name=s.name, data_type=model_config_pb.DataType.Value(_BY_PROTOCOL[s.datatype]), dims=s.shape
            )
            for s in config.outputs
        ],
    )
    if config.batching is not None:
        msg.dynamic_batching.CopyFrom(_batching_to_pb(config.batching))
    for key, value in (
        (DESCRIPTION_PARAMETER, config.description),
        (INPUT_FIELDS_PARAMETER, _fields_json(config.input_fields) if config.input_fields else ""),
        (OUTPUT_FIELDS_PARAMETER, _fields_json(config.output_fields) if config.output_fields else ""),
    ):
        if value:
            msg.parameters[key].string_value = value
    return msg


def _specs_from_pb(
    tensors: Iterable[model_config_pb.ModelInput | model_config_pb.ModelOutput],
) -> tuple[TensorSpec, ...]:
    return tuple(
        TensorSpec(t.name, _BY_TRITON[model_config_pb.DataType.Name(t.data_type)], tuple(t.dims))
        for t in tensors
    )


def config_from_pb(msg: model_config_pb.ModelConfig, version: str = "") -> ModelConfigInfo:
    """Rebuild ModelConfigInfo from a ModelConfig this gateway (or Triton, minus the field mapping) sent."""
    batching = None
    if msg.HasField("dynamic_batching"):
        dyn = msg.dynamic_batching
        batching = BatchingInfo(
            max_batch_size=msg.max_batch_size,
            max_queue_delay_us=dyn.max_queue_delay_microseconds,
            preferred_batch_sizes=tuple(dyn.preferred_batch_size),
            max_queue_size=dyn.default_queue_policy.max_queue_size,
        )
    params = msg.parameters
    return ModelConfigInfo(
        name=msg.name,
        version=version,
        platform=msg.platform,
        max_batch_size=msg.max_batch_size,
        inputs=_specs_from_pb(msg.input),
        outputs=_specs_from_pb(msg.output),
        batching=batching,
        description=params[DESCRIPTION_PARAMETER].string_value if DESCRIPTION_PARAMETER in params else "",
        input_fields=_fields_from_json(params[INPUT_FIELDS_PARAMETER].string_value)
        if INPUT_FIELDS_PARAMETER in params
        else (),
        output_fields=_fields_from_json(params[OUTPUT_FIELDS_PARAMETER].string_value)
        if OUTPUT_FIELDS_PARAMETER in params
        else (),
    )


def _duration(stat: DurationStat) -> pb.StatisticDuration:
    return pb.StatisticDuration(count=stat.count, ns=stat.ns)


def _model_statistics(stats: ModelStats) -> pb.ModelStatistics:
    return pb.ModelStatistics(
        name=stats.name,
        version=stats.version,
        last_inference=stats.last_inference_ms,
        inference_count=stats.inference_count,
        execution_count=stats.execution_count,
        inference_stats=pb.InferStatistics(
            success=_duration(stats.success),
            fail=_duration(stats.fail),
            queue=_duration(stats.queue),
            compute_input=_duration(stats.compute_input),
            compute_infer=_duration(stats.compute_infer),
            compute_output=_duration(stats.compute_output),
        ),
        batch_stats=[
            pb.InferBatchStatistics(batch_size=size, compute_infer=_duration(stat))
            for size, stat in stats.batch_stats
        ],
    )


def statistics_to_pb(stats: Iterable[ModelStats]) -> pb.ModelStatisticsResponse:
    return pb.ModelStatisticsResponse(model_stats=[_model_statistics(s) for s in stats])


def index_to_pb(entries: Iterable[ModelIndexEntry]) -> pb.RepositoryIndexResponse:
    return pb.RepositoryIndexResponse(
        models=[
            pb.RepositoryIndexResponse.ModelIndex(
                name=e.name, version=e.version, state=e.state, reason=e.reason
            )
            for e in entries
        ]
    )
