"""Record codecs: pure libraries turning bytes into values and columns and back.

Nothing here opens files or sockets, logs, or imports the gateway or a transport: callers hand in bytes,
``memoryview`` objects or a ``BinaryIO`` they opened, and get values back.
"""
