"""Web interface: dashboard API in front of the PC2 agents."""
import aiohttp
import uvicorn
from fastapi import FastAPI
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel

app = FastAPI()
app.mount("/static", StaticFiles(directory="frontend/dist"), name="static")


class Status(BaseModel):
    agent: str
    healthy: bool


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.get("/agents/{name}", response_model=Status)
async def agent_status(name: str) -> Status:
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://{name}:9100/metrics") as response:
            return Status(agent=name, healthy=response.status == 200)


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8080)
