"""apply_schedule: a plain PyTorch loop and an Accelerate loop, unchanged, with gradient accumulation."""

import pytest
import torch
import torch.nn.functional as F

import cpt_search
from cpt_search.errors import ConfigError

from integration_parts import expected_history, per_forward, schedule_under_test, tiny_data, tiny_mlp

ACCUMULATE = 3


def _loop(model, optimizer, loader, epochs, *, skip_updates=0):
    """A user's loop with gradient accumulation, written without any schedule code."""
    update = 0
    for _ in range(epochs):
        for index, (x, y) in enumerate(loader):
            if update < skip_updates:  # resumed: these updates ran before the checkpoint
                update += (index + 1) % ACCUMULATE == 0
                continue
            loss = F.cross_entropy(model(x), y) / ACCUMULATE
            loss.backward()
            if (index + 1) % ACCUMULATE == 0:
                optimizer.step()
                optimizer.zero_grad()
                update += 1


def test_a_plain_loop_runs_the_schedule_step_for_step():
    schedule = schedule_under_test()
    loader = torch.utils.data.DataLoader(tiny_data(96), batch_size=4)  # 24 batches, 8 updates per epoch
    model = tiny_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    stepper = cpt_search.apply_schedule(model, optimizer, schedule, total_steps=5 * 8)
    stepper.handle.start_recording()
    _loop(model, optimizer, loader, epochs=5)
    assert stepper.history == expected_history(schedule, 40)
    assert stepper.handle.recorded_bits == per_forward(stepper.history, ACCUMULATE)
    with pytest.raises(ConfigError, match=r"the optimizer stepped more than total_steps=40 times"):
        optimizer.step()


def test_a_plain_loop_resumes_from_a_checkpoint(tmp_path):
    schedule = schedule_under_test()
    loader = torch.utils.data.DataLoader(tiny_data(96), batch_size=4)
    model = tiny_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    stepper = cpt_search.apply_schedule(model, optimizer, schedule, total_steps=40)
    _loop(model, optimizer, loader, epochs=2)  # 16 of the 40 updates, then save
    torch.save({"model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "schedule": stepper.state_dict()}, tmp_path / "ckpt.pt")

    model = tiny_mlp(seed=1)  # a new process: fresh objects, state from the file
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    stepper = cpt_search.apply_schedule(model, optimizer, schedule, total_steps=40)
    state = torch.load(tmp_path / "ckpt.pt", weights_only=False)
    model.load_state_dict(state["model"])  # the quantizers' activation ranges too
    optimizer.load_state_dict(state["optimizer"])
    stepper.load_state_dict(state["schedule"])
    stepper.handle.start_recording()
    _loop(model, optimizer, loader, epochs=5, skip_updates=16)
    assert stepper.history == expected_history(schedule, 40)
    assert stepper.handle.recorded_bits == per_forward(stepper.history[16:], ACCUMULATE)


def test_an_accelerate_loop_steps_once_per_accumulated_update():
    import accelerate  # in the test extra: a missing one is a failure, not a skip
    schedule = schedule_under_test()
    accelerator = accelerate.Accelerator(cpu=True, gradient_accumulation_steps=ACCUMULATE)
    model = tiny_mlp()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.05)
    loader = torch.utils.data.DataLoader(tiny_data(96), batch_size=4)
    model, optimizer, loader = accelerator.prepare(model, optimizer, loader)
    stepper = cpt_search.apply_schedule(model, optimizer, schedule, total_steps=5 * 8)  # the wrapped one
    stepper.handle.start_recording()
    for _ in range(5):
        for x, y in loader:
            with accelerator.accumulate(model):
                accelerator.backward(F.cross_entropy(model(x), y))
                optimizer.step()
                optimizer.zero_grad()
    assert stepper.history == expected_history(schedule, 40)
    assert stepper.handle.recorded_bits == per_forward(stepper.history, ACCUMULATE)


def test_not_an_optimizer_is_refused():
    with pytest.raises(ConfigError, match=r"optimizer='str': not a torch optimizer"):
        cpt_search.apply_schedule(tiny_mlp(), "sgd", schedule_under_test(), total_steps=40)
