"""The README's code runs as written, and its first command shows what the README says it shows."""

import re
import runpy
import sys

import pytest
import torch

import uniloss
from tests._helpers.markdown import ROOT, failed_blocks, printed_by, python_blocks, report, run_block, run_each_block

README = ROOT / "README.md"
BLOCKS = python_blocks(README)


def test_every_block_runs_on_its_own(tmp_path):
    # One interpreter; each block gets a fresh namespace, so a block cannot use a name another one defined.
    result = run_each_block([README], tmp_path)
    assert failed_blocks(result) == [], report(result)
    assert result.returncode == 0, report(result)
    assert sorted(printed_by(result, README)) == list(range(1, len(BLOCKS) + 1))


@pytest.mark.slow
@pytest.mark.parametrize("index", range(len(BLOCKS)), ids=[f"block-{index + 1}" for index in range(len(BLOCKS))])
def test_each_block_runs_in_a_fresh_interpreter(index, tmp_path):
    result = run_block(BLOCKS[index], tmp_path)
    assert result.returncode == 0, report(result)


def test_the_custom_metric_example_trains_and_matches_its_definition(monkeypatch):
    monkeypatch.setattr(uniloss.core.registry, "METRICS", dict(uniloss.METRICS))
    block = next(b for b in BLOCKS if "MetricRefactoring" in b)
    namespace: dict = {}
    exec(compile(block, str(README), "exec"), namespace)
    loss = namespace["loss"]
    assert torch.isfinite(loss)
    loss.backward()
    metric = namespace["HitRate"](k=1)
    scores = torch.randn(32, 5)
    targets = torch.randint(0, 5, (32,))
    c = metric.comparisons(scores, targets)
    exact = metric.evaluate(uniloss.HardStep()(c.values)[None], c)[0]
    torch.testing.assert_close(exact, uniloss.exact.accuracy(scores, targets).double())


def test_the_first_command_and_the_test_command_are_what_ci_runs():
    text = README.read_text()
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.DOTALL).group(1).splitlines()
    test_command = commands[1].split("#")[0].strip()
    ci = (README.parent / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == test_command
    assert "python examples/demo.py" in commands[0]
    assert "uniloss train" in commands[0]


def test_the_demo_shows_what_the_readme_says(monkeypatch, capsys):
    # The README: "15 eights among 1,314 training digits", both test APs after every epoch, and UniLoss
    # ranking the eights better from the first epoch to the last.
    monkeypatch.setattr(sys, "argv", ["demo.py"])
    runpy.run_path(str(ROOT / "examples" / "demo.py"), run_name="__main__")
    out = capsys.readouterr().out
    assert "trained on 15 eights among 1,314 digits" in out
    assert "15 eights among 1,314 training digits" in " ".join(README.read_text().split())
    rows = [line.split() for line in out.splitlines() if re.fullmatch(r" *\d+ +0\.\d{4} +0\.\d{4}", line)]
    assert [int(row[0]) for row in rows] == list(range(1, 21))
    assert all(float(uni) > float(bce) for _, bce, uni in rows), out
    assert "AP asks only that the eights rank above the other digits" in out
