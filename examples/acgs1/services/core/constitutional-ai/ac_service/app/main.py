"""Constitutional AI: stores principles and amendments."""
import uvicorn
from fastapi import FastAPI
from pydantic import BaseModel
from sqlalchemy import create_engine, text

app = FastAPI()
engine = create_engine("postgresql://postgres:acgs@postgres/acgs")


class Principle(BaseModel):
    title: str
    body: str


@app.get("/principles")
def principles() -> list:
    with engine.connect() as connection:
        return [dict(row._mapping) for row in connection.execute(text("SELECT title, body FROM principles"))]


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8001)
