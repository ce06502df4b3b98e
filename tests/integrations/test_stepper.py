"""PrecisionStepper: the trainer-independent part (schedule sources, steps, evaluation bits, state)."""

import pytest
import torch

from cpt_search import save_schedule
from cpt_search.errors import ConfigError
from cpt_search.integrations.stepper import PrecisionStepper

from integration_parts import LayerSpy, expected_history, schedule_under_test, tiny_mlp


def test_schedule_from_an_object_a_file_or_a_mapping(tmp_path):
    schedule = schedule_under_test()
    path = save_schedule(tmp_path / "best.yaml", schedule)
    for source in (schedule, path, str(path), schedule.to_dict()):
        assert PrecisionStepper(tiny_mlp(), source, 40).schedule == schedule
    with pytest.raises(ConfigError, match=r"schedule='int': schedule must be a Schedule"):
        PrecisionStepper(tiny_mlp(), 3, 40)


def test_steps_set_the_layers_and_the_history():
    schedule = schedule_under_test()
    stepper = PrecisionStepper(tiny_mlp(), schedule, 40)
    assert len(stepper.handle.layers) == 2  # the classifier stays FP32
    for step in range(40):
        for _ in range(3):  # a micro-batch each: one history entry per optimizer step
            bits = stepper.set_step(step)
        assert all((layer.bits, layer.grad_bits) == bits for layer in stepper.handle.layers)
    assert stepper.history == expected_history(schedule, 40)
    with pytest.raises(ConfigError, match=r"step=40: the schedule covers optimizer steps 0\.\.39"):
        stepper.set_step(40)
    with pytest.raises(ConfigError, match="the number of optimizer steps is not known yet"):
        PrecisionStepper(tiny_mlp(), schedule).set_step(0)


def test_evaluation_forwards_run_at_the_top_bits_and_training_resumes_at_the_step():
    model = tiny_mlp()
    stepper = PrecisionStepper(model, schedule_under_test(), 40)
    spy = LayerSpy(stepper.handle.layers)
    stepper.set_step(5)  # cycling at low bits
    model.train()
    model(torch.randn(4, 6))
    model.eval()
    with torch.no_grad():
        model(torch.randn(4, 6))
    model.train()
    model(torch.randn(4, 6))
    step5 = stepper.history[-1][1:]
    assert [call[1:] for call in spy.calls] == [step5] * 2 + [(8, 8)] * 2 + [step5] * 2
    assert step5 != (8, 8)


def test_state_round_trip_and_a_different_schedule_is_refused():
    schedule = schedule_under_test()
    first = PrecisionStepper(tiny_mlp(), schedule, 40)
    for step in range(17):
        first.set_step(step)
    second = PrecisionStepper(tiny_mlp(), schedule)
    second.load_state_dict(first.state_dict())
    assert second.total_steps == 40 and second.history == first.history
    assert second.handle.bits == first.handle.bits
    for step in range(17, 40):
        second.set_step(step)
    assert second.history == expected_history(schedule, 40)
    other = PrecisionStepper(tiny_mlp(), schedule.replace(min_bits=4))
    with pytest.raises(ConfigError, match="the checkpoint was trained under a different schedule"):
        other.load_state_dict(first.state_dict())
    with pytest.raises(ConfigError, match=r"total_steps=41: the run was started with total_steps=40"):
        second.start(41)
