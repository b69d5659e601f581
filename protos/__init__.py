"""Open Inference Protocol (KServe v2 / Triton) wire contract: .proto sources and generated modules."""
