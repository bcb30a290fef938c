"""Formal Verification: checks synthesized policies for consistency with Z3."""
import numpy as np
import sympy
import uvicorn
import z3
from fastapi import FastAPI

app = FastAPI()


@app.post("/verify")
def verify(payload: dict) -> dict:
    solver = z3.Solver()
    for clause in payload.get("clauses", []):
        solver.add(z3.parse_smt2_string(clause))
    bounds = np.array(payload.get("bounds", [0]), dtype=float)
    simplified = str(sympy.simplify(payload.get("expression", "0")))
    return {"satisfiable": str(solver.check()), "max_bound": float(bounds.max()), "expression": simplified}


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=8003)
