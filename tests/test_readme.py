"""The README's code runs as written."""

import re
import subprocess
import sys
from pathlib import Path

import torch

import uniloss

README = Path(__file__).resolve().parents[1] / "README.md"


def _python_blocks():
    return re.findall(r"```python\n(.*?)```", README.read_text(), flags=re.DOTALL)


def test_the_custom_metric_example_trains_and_matches_its_definition(monkeypatch):
    monkeypatch.setattr(uniloss.core.registry, "METRICS", dict(uniloss.METRICS))
    block = next(b for b in _python_blocks() if "MetricRefactoring" in b)
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
    torch.testing.assert_close(exact, uniloss.functional.accuracy(scores, targets).double())


def test_the_first_command_and_the_test_command_are_what_ci_runs():
    text = README.read_text()
    commands = re.search(r"```bash\n(.*?)```", text, flags=re.DOTALL).group(1).splitlines()
    test_command = commands[1].split("#")[0].strip()
    ci = (README.parent / ".ci" / "run").read_text()
    assert ci.strip().splitlines()[-1] == test_command
    assert "uniloss train" in commands[0]


def test_import_uniloss_reaches_the_subpackages_lazily():
    code = (
        "import sys, uniloss\n"
        "assert 'matplotlib' not in sys.modules and 'uniloss.reports' not in sys.modules\n"
        "print(uniloss.reports.SurrogateMonitor.__name__, uniloss.train.train.__name__)\n"
        "try:\n    uniloss.no_such_thing\nexcept AttributeError as error:\n    print(error)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.splitlines() == ["SurrogateMonitor train", "module 'uniloss' has no attribute 'no_such_thing'"]
