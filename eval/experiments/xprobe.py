"""English questions over the French article's evidence sentence: does the reader's best span hold the key fact?"""
import json, sys, unicodedata
from pathlib import Path
sys.path.insert(0, "/work/main")
from rag.answerers.extractive.reader import Reader
def fold(s): return "".join(c for c in unicodedata.normalize("NFKD", s.lower()) if not unicodedata.combining(c))
r = Reader(Path(sys.argv[1]))
article = Path("corpus/meta-ai-spending.txt").read_text()
paras = [p for p in article.split("\n") if len(p) > 40]
hit = hit_para = n = 0
for line in open("eval/crosslingual.jsonl"):
    it = json.loads(line)
    if not it["id"].startswith("x-en") or not it["answerable"]: continue
    q = it["turns"][0]; fact = it["key_facts"][0]
    ev = it["evidence"][0]["quote"]
    para = next((p for p in paras if ev[:40] in p), None)
    if para is None: continue
    n += 1
    b = r.read(q, [para])[0].best()
    span = para[b.start:b.end] if b else ""
    ok = fold(fact) in fold(span) or fold(span) in fold(fact) and len(span) > 2
    hit += ok
    print("OK " if ok else "-- ", q[:60], "|", fact, "|", span[:60])
print(hit, "/", n)
