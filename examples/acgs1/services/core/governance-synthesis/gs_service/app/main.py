"""Governance Synthesis: turns constitutional principles into candidate policies."""
import httpx
import uvicorn
from fastapi import FastAPI
from langchain.prompts import PromptTemplate
from openai import OpenAI
from pydantic import BaseModel
from sqlalchemy import create_engine

app = FastAPI()
engine = create_engine("postgresql://postgres:acgs@postgres/acgs")
SYNTHESIS = PromptTemplate.from_template("Write a Rego policy enforcing: {principle}")


class SynthesisRequest(BaseModel):
    principle: str


@app.post("/synthesize")
def synthesize(request: SynthesisRequest) -> dict:
    prompt = SYNTHESIS.format(principle=request.principle)
    reply = OpenAI().chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": prompt}])
    policy = reply.choices[0].message.content
    httpx.post("http://fv_service:8003/verify", json={"policy": policy}, timeout=30)
    return {"policy": policy}


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8004)
