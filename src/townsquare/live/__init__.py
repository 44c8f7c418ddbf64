"""Live discussions: thread events written with each change, streamed to readers (SSE)."""
