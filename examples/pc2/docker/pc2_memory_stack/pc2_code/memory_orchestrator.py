"""Memory orchestrator: short-term memory in Redis, long-term in SQLite."""
import os

import redis
import zmq
from pydantic import BaseModel
from sqlalchemy import create_engine

from .knowledge_base import export_snapshot


class MemoryEntry(BaseModel):
    session_id: str
    content: str


def main() -> None:
    engine = create_engine(f"sqlite:///{os.environ['MEMORY_DB_PATH']}")
    cache = redis.from_url(os.environ["REDIS_URL"])
    socket = zmq.Context().socket(zmq.REP)
    socket.bind("tcp://0.0.0.0:7140")
    while True:
        entry = MemoryEntry.model_validate_json(socket.recv())
        cache.rpush(entry.session_id, entry.content)
        socket.send_string("ok")
        export_snapshot(engine)


if __name__ == "__main__":
    main()
