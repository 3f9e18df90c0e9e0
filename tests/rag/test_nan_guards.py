"""Dropping the NaN guards of exported graphs (rag.embedders.onnx.drop_nan_guards) changes no output."""

import shutil
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pytest

from rag.embedders.onnx import drop_nan_guards, session


def ops(graph: Path) -> list[str]:
    return [n.op_type for n in onnx.load(str(graph)).graph.node]


@pytest.fixture(scope="module")
def tiny_bert(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A randomly initialized two-layer BERT, exported by torch as the scripts export theirs (fp32)."""
    import torch
    from transformers import BertConfig, BertModel

    class Encoder(torch.nn.Module):  # as the scripts' modules call theirs: by keyword
        def __init__(self) -> None:
            super().__init__()
            config = BertConfig(
                vocab_size=50, hidden_size=32, num_hidden_layers=2, num_attention_heads=4, intermediate_size=64
            )
            self.bert = BertModel(config)

        def forward(self, input_ids: Any, attention_mask: Any, token_type_ids: Any) -> Any:
            return self.bert(
                input_ids=input_ids, attention_mask=attention_mask, token_type_ids=token_type_ids
            ).last_hidden_state

    torch.manual_seed(0)
    model = Encoder().eval()
    path = tmp_path_factory.mktemp("bert") / "fp32.onnx"
    names = ["input_ids", "attention_mask", "token_type_ids"]
    sample = (torch.ones(1, 8, dtype=torch.long),) * 2 + (torch.zeros(1, 8, dtype=torch.long),)
    axes = {n: {0: "batch", 1: "pieces"} for n in [*names, "hidden"]}
    torch.onnx.export(
        model,
        sample,
        str(path),
        input_names=names,
        output_names=["hidden"],
        dynamic_axes=axes,
        opset_version=17,
        dynamo=False,
    )
    return path


def test_dropping_the_nan_guards_changes_no_output_even_with_padding(tiny_bert: Path, tmp_path: Path) -> None:
    dropped = tmp_path / "dropped.onnx"
    shutil.copy(tiny_bert, dropped)
    drop_nan_guards(dropped)
    assert ops(tiny_bert).count("IsNaN") == 2, "torch's export puts one guard after each layer's softmax"
    assert "IsNaN" not in ops(dropped)
    assert ops(dropped).count("Softmax") == 2
    rng = np.random.default_rng(0)
    mask = np.array([[1] * 12, [1] * 5 + [0] * 7], dtype=np.int64)  # the second row is padded
    feeds = {
        "input_ids": rng.integers(0, 50, (2, 12)),
        "attention_mask": mask,
        "token_type_ids": np.array([[0] * 6 + [1] * 6, [0] * 3 + [1] * 9], dtype=np.int64),
    }
    before, after = session(tiny_bert).run(None, feeds)[0], session(dropped).run(None, feeds)[0]
    assert np.array_equal(before, after) and np.isfinite(after).all()


@pytest.mark.parametrize("graph", ["reader.onnx", "nli.onnx"])
def test_the_shipped_graphs_have_their_guards_dropped(graph: str) -> None:
    shipped = Path(str(resources.files("rag.data").joinpath(graph)))
    assert "IsNaN" not in ops(shipped) and "Softmax" in ops(shipped)
