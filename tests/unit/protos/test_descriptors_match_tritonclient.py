"""Our .proto files compile to the descriptors tritonclient is built against, field by field.

Both descriptor sets are read from the serialized ``FileDescriptorProto`` embedded in the generated
``*_pb2.py`` source and loaded into private pools, without importing either package: they register the
same file names in protobuf's process-wide pool, so a differing pair would fail at import before any
comparison could say what differs.
"""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
from google.protobuf import descriptor_pb2, descriptor_pool
from google.protobuf.descriptor import Descriptor, EnumDescriptor, FieldDescriptor, FileDescriptor

PROTOCOL_FILES = ("model_config.proto", "grpc_service.proto")  # dependency order
_TYPE_NAMES: dict[int, str] = {
    number: name for name, number in descriptor_pb2.FieldDescriptorProto.Type.items()
}


def embedded_file(module_path: Path) -> bytes | None:
    """Return the serialized FileDescriptorProto a generated module registers, or None if none."""
    tree = ast.parse(module_path.read_text(encoding="utf-8"), filename=str(module_path))
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "AddSerializedFile"
            and isinstance(node.args[0], ast.Constant)
            and isinstance(node.args[0].value, bytes)
        ):
            return node.args[0].value
    return None


def protocol_files(package_dir: Path) -> dict[str, bytes]:
    """Find the protocol's serialized files among the generated modules anywhere under ``package_dir``."""
    found: dict[str, bytes] = {}
    for module_path in sorted(package_dir.rglob("*_pb2.py")):
        serialized = embedded_file(module_path)
        if serialized is None:
            continue
        name = descriptor_pb2.FileDescriptorProto.FromString(serialized).name
        if name in PROTOCOL_FILES:
            found[name] = serialized
    missing = set(PROTOCOL_FILES) - set(found)
    if missing:
        raise LookupError(f"no generated module under {package_dir} embeds {sorted(missing)}")
    return found


def build_pool(files: dict[str, bytes]) -> tuple[descriptor_pool.DescriptorPool, dict[str, FileDescriptor]]:
    """Load the protocol files into a fresh pool (which also checks every type reference resolves)."""
    pool = descriptor_pool.DescriptorPool()
    for name in PROTOCOL_FILES:
        pool.AddSerializedFile(files[name])
    return pool, {name: pool.FindFileByName(name) for name in PROTOCOL_FILES}


def _label(field: FieldDescriptor) -> str:
    if field.is_repeated:
        return "repeated"
    return "required" if field.is_required else "optional"


def _referenced(field: FieldDescriptor) -> str:
    if field.message_type is not None:
        return field.message_type.full_name
    if field.enum_type is not None:
        return field.enum_type.full_name
    return ""


def field_signature(field: FieldDescriptor) -> dict[str, object]:
    """What must agree for a field to be the same on the wire and in generated APIs."""
    return {
        "number": field.number,
        "type": _TYPE_NAMES[field.type],
        "label": _label(field),
        "type_name": _referenced(field),
        "oneof": field.containing_oneof.name if field.containing_oneof is not None else None,
    }


def diff_enum(theirs: EnumDescriptor, ours: EnumDescriptor) -> list[str]:
    """Every value of ``theirs`` must exist in ``ours`` with the same number, and no other value."""
    theirs_values = {v.name: v.number for v in theirs.values}
    ours_values = {v.name: v.number for v in ours.values}
    diffs = [
        f"enum {theirs.full_name}: value {name} is {number} in tritonclient, {ours_values.get(name)} in ours"
        for name, number in theirs_values.items()
        if ours_values.get(name) != number
    ]
    diffs += [
        f"enum {ours.full_name}: extra value {name}" for name in ours_values.keys() - theirs_values.keys()
    ]
    return diffs


def _diff_fields(theirs: Descriptor, ours: Descriptor) -> list[str]:
    diffs: list[str] = []
    for field in theirs.fields:
        our_field = ours.fields_by_name.get(field.name)
        if our_field is None:
            diffs.append(f"message {theirs.full_name}: field {field.name} missing in ours")
            continue
        expected, actual = field_signature(field), field_signature(our_field)
        diffs += [
            f"field {field.full_name}: {key} is {expected[key]!r} in tritonclient, {actual[key]!r} in ours"
            for key in expected
            if expected[key] != actual[key]
        ]
    extra = set(ours.fields_by_name) - set(theirs.fields_by_name)
    diffs += [f"message {ours.full_name}: extra field {name}" for name in sorted(extra)]
    return diffs


def diff_message(theirs: Descriptor, ours_pool: descriptor_pool.DescriptorPool) -> list[str]:
    """Compare one of their messages (recursively: nested messages and enums) with ours of that name."""
    try:
        ours = ours_pool.FindMessageTypeByName(theirs.full_name)
    except KeyError:
        return [f"message {theirs.full_name} missing in ours"]
    diffs = _diff_fields(theirs, ours)
    if theirs.GetOptions().map_entry != ours.GetOptions().map_entry:
        diffs.append(f"message {theirs.full_name}: map_entry differs")
    for enum in theirs.enum_types:
        our_enum = ours.enum_types_by_name.get(enum.name)
        diffs += diff_enum(enum, our_enum) if our_enum else [f"enum {enum.full_name} missing in ours"]
    for nested in theirs.nested_types:
        diffs += diff_message(nested, ours_pool)
    return diffs


def diff_file(theirs: FileDescriptor, ours_pool: descriptor_pool.DescriptorPool) -> list[str]:
    """All differences for the messages and top-level enums of one of their files."""
    diffs: list[str] = []
    for message in theirs.message_types_by_name.values():
        diffs += diff_message(message, ours_pool)
    for enum in theirs.enum_types_by_name.values():
        try:
            diffs += diff_enum(enum, ours_pool.FindEnumTypeByName(enum.full_name))
        except KeyError:
            diffs.append(f"enum {enum.full_name} missing in ours")
    return diffs


def method_signatures(file: FileDescriptor) -> dict[str, tuple[str, str, bool, bool]]:
    """Every RPC in ``file``: full method name -> (input, output, client streaming, server streaming)."""
    return {
        method.full_name: (
            method.input_type.full_name,
            method.output_type.full_name,
            method.client_streaming,
            method.server_streaming,
        )
        for service in file.services_by_name.values()
        for method in service.methods
    }


def _package_dir(name: str) -> Path:
    """Directory of an installed package, found without executing its __init__."""
    spec = importlib.util.find_spec(name)
    assert spec is not None and spec.submodule_search_locations, f"package {name} is not importable"
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="module")
def theirs_files() -> dict[str, bytes]:
    return protocol_files(_package_dir("tritonclient"))


@pytest.fixture(scope="module")
def ours_files() -> dict[str, bytes]:
    return protocol_files(_package_dir("protos") / "_generated")


@pytest.fixture(scope="module")
def theirs(theirs_files: dict[str, bytes]) -> dict[str, FileDescriptor]:
    return build_pool(theirs_files)[1]


@pytest.fixture(scope="module")
def ours_pool(ours_files: dict[str, bytes]) -> descriptor_pool.DescriptorPool:
    return build_pool(ours_files)[0]


@pytest.mark.parametrize("name", PROTOCOL_FILES)
def test_each_file_declares_the_same_package_syntax_and_imports(
    name: str, theirs_files: dict[str, bytes], ours_files: dict[str, bytes]
) -> None:
    parse = descriptor_pb2.FileDescriptorProto.FromString
    theirs_file, ours_file = parse(theirs_files[name]), parse(ours_files[name])
    assert ours_file.package == "inference"
    assert (ours_file.package, ours_file.syntax, list(ours_file.dependency)) == (
        theirs_file.package,
        theirs_file.syntax,
        list(theirs_file.dependency),
    )


@pytest.mark.parametrize("name", PROTOCOL_FILES)
def test_every_tritonclient_message_and_enum_exists_in_ours_with_identical_fields_and_values(
    name: str, theirs: dict[str, FileDescriptor], ours_pool: descriptor_pool.DescriptorPool
) -> None:
    diffs = diff_file(theirs[name], ours_pool)
    assert diffs == [], "\n".join(diffs)


def test_the_service_has_the_same_rpcs_with_the_same_types_and_streaming_flags(
    theirs: dict[str, FileDescriptor], ours_pool: descriptor_pool.DescriptorPool
) -> None:
    expected = method_signatures(theirs["grpc_service.proto"])
    actual = method_signatures(ours_pool.FindFileByName("grpc_service.proto"))
    assert expected["inference.GRPCInferenceService.ModelStreamInfer"][2:] == (True, True)
    assert actual == expected


@pytest.mark.parametrize("name", PROTOCOL_FILES)
def test_serialized_descriptors_are_byte_identical_so_both_packages_can_share_one_process(
    name: str, theirs_files: dict[str, bytes], ours_files: dict[str, bytes]
) -> None:
    # protobuf's default pool accepts a second registration of a file name only with identical bytes;
    # an extra message or even a reordered declaration would break importing protos next to tritonclient.
    assert ours_files[name] == theirs_files[name]


def test_the_comparison_reports_a_renumbered_field_and_a_changed_enum_value(
    ours_files: dict[str, bytes], theirs: dict[str, FileDescriptor]
) -> None:
    service = descriptor_pb2.FileDescriptorProto.FromString(ours_files["grpc_service.proto"])
    request = next(m for m in service.message_type if m.name == "ModelInferRequest")
    next(f for f in request.field if f.name == "raw_input_contents").number = 70
    config = descriptor_pb2.FileDescriptorProto.FromString(ours_files["model_config.proto"])
    next(v for v in config.enum_type[0].value if v.name == "TYPE_FP32").number = 99
    pool, _ = build_pool(
        {"grpc_service.proto": service.SerializeToString(), "model_config.proto": config.SerializeToString()}
    )
    diffs = diff_file(theirs["grpc_service.proto"], pool) + diff_file(theirs["model_config.proto"], pool)
    assert sorted(diffs) == [
        "enum inference.DataType: value TYPE_FP32 is 11 in tritonclient, 99 in ours",
        "field inference.ModelInferRequest.raw_input_contents: number is 7 in tritonclient, 70 in ours",
    ]


def test_the_comparison_reports_messages_missing_in_ours(
    ours_files: dict[str, bytes], theirs: dict[str, FileDescriptor]
) -> None:
    pool = descriptor_pool.DescriptorPool()
    pool.AddSerializedFile(ours_files["model_config.proto"])
    diffs = diff_file(theirs["grpc_service.proto"], pool)
    assert "message inference.ModelInferRequest missing in ours" in diffs


@pytest.mark.parametrize("first, second", [("protos", "tritonclient.grpc"), ("tritonclient.grpc", "protos")])
def test_protos_and_tritonclient_load_together_in_either_order_and_share_message_classes(
    first: str, second: str
) -> None:
    code = (
        f"import {first}, {second}\n"
        "from protos import pb, model_config_pb\n"
        "from tritonclient.grpc import service_pb2, model_config_pb2\n"
        "assert pb.ModelInferRequest is service_pb2.ModelInferRequest\n"
        "assert model_config_pb.ModelConfig is model_config_pb2.ModelConfig\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr


def test_protos_reexports_the_three_generated_modules() -> None:
    import protos

    assert protos.__all__ == ["model_config_pb", "pb", "pb_grpc"]
    assert protos.pb.DESCRIPTOR.name == "grpc_service.proto"
    assert protos.model_config_pb.DESCRIPTOR.name == "model_config.proto"
    assert callable(protos.pb_grpc.add_GRPCInferenceServiceServicer_to_server)
    assert protos.pb_grpc.GRPCInferenceServiceStub.__module__ == "protos._generated.grpc_service_pb2_grpc"
