"""Knowledge base exporter: periodic parquet snapshots of stored memories."""
import numpy as np
import pandas as pd
from cryptography.fernet import Fernet


def export_snapshot(engine, path="/app/data/snapshot.parquet"):
    frame = pd.read_sql("SELECT session_id, content FROM memories", engine)
    frame["length"] = np.fromiter((len(c) for c in frame["content"]), dtype=np.int64)
    frame.to_parquet(path)
    return Fernet.generate_key()
