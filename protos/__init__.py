"""Open Inference Protocol (KServe v2 / Triton) wire contract: .proto sources and generated modules.

The three generated modules are re-exported under short names; everything else imports them from here:

* ``pb`` -- ``grpc_service_pb2``: request/response messages (``pb.ModelInferRequest`` ...);
* ``pb_grpc`` -- ``grpc_service_pb2_grpc``: ``GRPCInferenceServiceServicer``, ``GRPCInferenceServiceStub``
  and ``add_GRPCInferenceServiceServicer_to_server``;
* ``model_config_pb`` -- ``model_config_pb2``: ``ModelConfig``, ``ModelInput``, ``DataType`` ...

The descriptors are byte-identical to those compiled into tritonclient, so both can be imported in one
process (they share the message classes). Regenerate with ``python -m protos.generate``.
"""

from protos._generated import grpc_service_pb2 as pb
from protos._generated import grpc_service_pb2_grpc as pb_grpc
from protos._generated import model_config_pb2 as model_config_pb

__all__ = ["model_config_pb", "pb", "pb_grpc"]
