"""Integrity: signs policy artefacts with Ed25519."""
import uvicorn
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import FastAPI

app = FastAPI()
KEY = Ed25519PrivateKey.generate()


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/sign")
def sign(payload: dict) -> dict:
    return {"signature": KEY.sign(payload["digest"].encode()).hex()}


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8002)
