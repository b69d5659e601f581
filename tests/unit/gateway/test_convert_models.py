"""gateway.convert_models: metadata, ModelConfig, statistics and repository index as protobuf."""

from __future__ import annotations

from gateway import convert_models
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
from protos import model_config_pb

CONFIG = ModelConfigInfo(
    name="breast-cancer",
    version="2",
    platform="onnxruntime_onnx",
    max_batch_size=64,
    inputs=(TensorSpec("features", "FP32", (30,)),),
    outputs=(TensorSpec("label", "INT64", ()), TensorSpec("names", "BYTES", (2,))),
    batching=BatchingInfo(max_batch_size=64, max_queue_delay_us=500, preferred_batch_sizes=(16, 32)),
    description="MLP classifier",
    input_fields=(TensorFields("features", ("mean_radius", "mean_texture")),),
    output_fields=(TensorFields("label", ("label",), columns=False),),
)


def test_model_config_uses_triton_type_names_dims_and_dynamic_batching() -> None:
    msg = convert_models.config_to_pb(CONFIG)
    assert (msg.name, msg.platform, msg.max_batch_size) == ("breast-cancer", "onnxruntime_onnx", 64)
    assert [(i.name, model_config_pb.DataType.Name(i.data_type), list(i.dims)) for i in msg.input] == [
        ("features", "TYPE_FP32", [30])
    ]
    assert [model_config_pb.DataType.Name(o.data_type) for o in msg.output] == ["TYPE_INT64", "TYPE_STRING"]
    assert list(msg.dynamic_batching.preferred_batch_size) == [16, 32]
    assert msg.dynamic_batching.max_queue_delay_microseconds == 500


def test_model_config_round_trips_including_description_and_field_mapping() -> None:
    msg = convert_models.config_to_pb(CONFIG)
    assert convert_models.config_from_pb(msg, version="2") == CONFIG


def test_unbatched_model_config_has_no_dynamic_batching_and_no_parameters() -> None:
    plain = ModelConfigInfo("fixed", "1", "onnxruntime_onnx", 0, CONFIG.inputs, CONFIG.outputs, None)
    msg = convert_models.config_to_pb(plain)
    assert not msg.HasField("dynamic_batching")
    assert msg.max_batch_size == 0
    assert dict(msg.parameters) == {}


def test_metadata_round_trips() -> None:
    metadata = ModelMetadata("m", ("1", "2"), "onnxruntime_onnx", (TensorSpec("x", "FP16", (-1, 3)),), ())
    assert convert_models.metadata_from_pb(convert_models.metadata_to_pb(metadata)) == metadata


def test_statistics_carry_counts_durations_and_batch_stats() -> None:
    stats = ModelStats(
        name="m",
        version="1",
        last_inference_ms=1700000000000,
        inference_count=10,
        execution_count=3,
        success=DurationStat(4, 4000),
        fail=DurationStat(1, 10),
        queue=DurationStat(4, 400),
        compute_input=DurationStat(3, 30),
        compute_infer=DurationStat(3, 3000),
        compute_output=DurationStat(3, 33),
        batch_stats=((4, DurationStat(2, 2000)),),
    )
    (msg,) = convert_models.statistics_to_pb([stats]).model_stats
    assert (msg.inference_count, msg.execution_count, msg.last_inference) == (10, 3, 1700000000000)
    assert (msg.inference_stats.success.count, msg.inference_stats.compute_infer.ns) == (4, 3000)
    assert [(b.batch_size, b.compute_infer.count) for b in msg.batch_stats] == [(4, 2)]


def test_index_keeps_state_and_reason() -> None:
    entries = [ModelIndexEntry("bad", "1", "UNAVAILABLE", "not an ONNX file")]
    (row,) = convert_models.index_to_pb(entries).models
    assert (row.name, row.version, row.state, row.reason) == ("bad", "1", "UNAVAILABLE", "not an ONNX file")
