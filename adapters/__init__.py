"""Bridgeway adapters: record codecs, field mapping, inference clients, file and AMQP pipelines, CLI."""
