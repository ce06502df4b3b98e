"""The README's "use an exported schedule" examples run as written, in order, in one namespace (as a
reader pasting them into one session would), in an empty folder, offline. After each block, every
integration it made has applied exactly the schedule's tracks, step for step, over the steps it ran."""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parents[1] / "README.md"
SECTION = "## Use an exported schedule in your own training loop"


def readme_blocks() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", len(SECTION))]
    return re.findall(r"```python\n(.*?)```", section, flags=re.DOTALL)


def _tracks(schedule, total_steps):
    bits, grad_bits = schedule.tracks(total_steps)
    return [(step, int(b), int(g)) for step, (b, g) in enumerate(zip(bits, grad_bits))]


def test_the_section_shows_every_integration():
    code = "\n".join(readme_blocks())
    for needle in ("apply_schedule(", "CyclicPrecision(", "CyclicPrecisionCallback(", "quantize_(",
                   "accumulate_grad_batches=2", "gradient_accumulation_steps=2"):
        assert needle in code, needle


def test_the_readme_examples_run_as_written(tmp_path, monkeypatch):
    pytest.importorskip("lightning")
    pytest.importorskip("transformers")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("TRANSFORMERS_OFFLINE", "1")
    namespace: dict = {"__name__": "__readme__"}
    checked = []
    for index, block in enumerate(readme_blocks()):
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            exec(compile(block, f"README.md python block {index}", "exec"), namespace)
        for name in ("stepper", "precision"):
            made = namespace.get(name)
            if made is None or any(made is seen for seen in checked):
                continue
            checked.append(made)
            stepper = getattr(made, "stepper", made)  # a callback holds its PrecisionStepper
            assert stepper.total_steps == len(made.history) > 0, f"block {index}: {name} did not run to the end"
            assert made.history == _tracks(stepper.schedule, stepper.total_steps), f"block {index}: {name}"
            assert len({bits for _, bits, _ in made.history}) > 2, "the schedule should cycle"
        for line in block.splitlines():  # a "# value" comment after print(...) is what the block prints
            shown = re.match(r"print\(.*\)\s+# (.*?)(:|$)", line)
            if shown:
                assert shown.group(1).strip() in printed.getvalue(), (line, printed.getvalue())
    assert len(checked) == 3  # apply_schedule, the Lightning callback, the Hugging Face callback
    assert (tmp_path / "best.yaml").exists()
