"""Policy Governance & Compliance: evaluates requests against active policies."""
import httpx
from fastapi import FastAPI

app = FastAPI()
OPA_URL = "http://opa:8181/v1/data/acgs/allow"


@app.post("/evaluate")
def evaluate(request: dict) -> dict:
    decision = httpx.post(OPA_URL, json={"input": request}, timeout=5).json()
    return {"allowed": decision.get("result", False)}
