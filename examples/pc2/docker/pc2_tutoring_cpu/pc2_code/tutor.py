"""CPU tutoring agent: lesson text analysis and prompt building."""
import nltk
import spacy
import uvicorn
from fastapi import FastAPI
from langchain.prompts import PromptTemplate

app = FastAPI()
nlp = spacy.load("en_core_web_sm")
STOPWORDS = set(nltk.corpus.stopwords.words("english"))
HINT = PromptTemplate.from_template("Give a hint for: {question}\nKey terms: {terms}")


@app.post("/hint")
def hint(question: str) -> dict:
    terms = [t.lemma_ for t in nlp(question) if t.text.lower() not in STOPWORDS and t.is_alpha]
    return {"prompt": HINT.format(question=question, terms=", ".join(terms))}


if __name__ == "__main__":
    uvicorn.run(app, host="0.0.0.0", port=7200)
