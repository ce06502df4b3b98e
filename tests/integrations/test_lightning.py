"""CyclicPrecision: a real Lightning Trainer on CPU, with gradient accumulation and a resume mid-run."""

import pytest
import torch
import torch.nn.functional as F

pl = pytest.importorskip("lightning.pytorch")

from cpt_search import save_schedule  # noqa: E402
from cpt_search.errors import ConfigError  # noqa: E402
from cpt_search.integrations.lightning import CyclicPrecision  # noqa: E402

from integration_parts import (  # noqa: E402
    LayerSpy,
    expected_history,
    per_forward,
    schedule_under_test,
    tiny_data,
    tiny_mlp,
)

ACCUMULATE = 3
BATCHES = 23  # per epoch: 7 full accumulation windows and a last one of 2 batches (Lightning steps it)
UPDATES_PER_EPOCH = 8
EPOCHS = 5


class TinyModule(pl.LightningModule):
    def __init__(self, seed: int = 0):
        super().__init__()
        self.net = tiny_mlp(seed)

    def forward(self, x):
        return self.net(x)

    def training_step(self, batch, batch_idx):
        x, y = batch
        return F.cross_entropy(self(x), y)

    def validation_step(self, batch, batch_idx):
        x, y = batch
        self.log("val_loss", F.cross_entropy(self(x), y))

    def configure_optimizers(self):
        return torch.optim.SGD(self.parameters(), lr=0.05)


class Recorder(pl.Callback):
    """Starts the handle's recording of what the quantized layers really used, once they exist."""

    def __init__(self, precision: CyclicPrecision):
        self.precision = precision
        self.spy = None

    def on_fit_start(self, trainer, pl_module):
        self.precision.stepper.handle.start_recording()
        self.spy = LayerSpy(self.precision.stepper.handle.layers)


class CrashAt(pl.Callback):
    """A crash in the middle of an epoch and of an accumulation window."""

    def __init__(self, step: int):
        self.step = step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.global_step == self.step and batch_idx % ACCUMULATE == 1:
            raise RuntimeError("simulated crash")


def _loader(samples=BATCHES * 4):
    return torch.utils.data.DataLoader(tiny_data(samples), batch_size=4)


def _trainer(tmp_path, callbacks, **kwargs):
    options = dict(max_epochs=EPOCHS, accumulate_grad_batches=ACCUMULATE, accelerator="cpu", devices=1,
                   logger=False, enable_progress_bar=False, enable_model_summary=False,
                   enable_checkpointing=False, default_root_dir=tmp_path, num_sanity_val_steps=0)
    options.update(kwargs)
    return pl.Trainer(callbacks=callbacks, **options)


def test_a_lightning_trainer_runs_the_schedule_step_for_step_and_evaluates_at_the_top_bits(tmp_path):
    schedule = schedule_under_test()
    path = save_schedule(tmp_path / "best.yaml", schedule)  # an exported file, as a user has it
    precision = CyclicPrecision(path)
    recorder = Recorder(precision)
    trainer = _trainer(tmp_path, [precision, recorder], check_val_every_n_epoch=2)
    trainer.fit(TinyModule(), _loader(), _loader(8))
    total = EPOCHS * UPDATES_PER_EPOCH
    assert trainer.global_step == total and precision.stepper.total_steps == total
    assert precision.history == expected_history(schedule, total)
    # What the quantized layers ran: per micro-batch the bits of its update; the last window of
    # each epoch holds 2 batches, not 3.
    windows = [ACCUMULATE] * (UPDATES_PER_EPOCH - 1) + [BATCHES - ACCUMULATE * (UPDATES_PER_EPOCH - 1)]
    expected_forwards = [(b, g) for (step, b, g) in precision.history for _ in range(windows[step % 8])]
    assert precision.stepper.handle.recorded_bits == expected_forwards
    assert recorder.spy.eval_calls() == {(8, 8)}  # validation ran, and at max_bits / max_grad_bits
    assert {b for _, b, _ in precision.history} >= {3, 8, 12, 32}  # warm-up, cycles and cool-down ran


def test_a_run_resumed_from_a_checkpoint_mid_run_continues_the_schedule(tmp_path):
    schedule = schedule_under_test()
    total = EPOCHS * UPDATES_PER_EPOCH
    checkpoints = pl.callbacks.ModelCheckpoint(dirpath=tmp_path / "ckpt", every_n_train_steps=4, save_top_k=-1)
    first = CyclicPrecision(schedule)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _trainer(tmp_path, [first, checkpoints, CrashAt(step=22)],
                 enable_checkpointing=True).fit(TinyModule(), _loader())
    assert first.history == expected_history(schedule, total)[:23]
    saved = tmp_path / "ckpt" / "epoch=2-step=20.ckpt"  # step 20: mid-epoch (epoch 2 has steps 16..23)
    assert saved.exists(), sorted(p.name for p in (tmp_path / "ckpt").iterdir())

    second = CyclicPrecision(schedule)  # a new process: fresh objects, state from the checkpoint
    recorder = Recorder(second)
    trainer = _trainer(tmp_path, [second, recorder])
    trainer.fit(TinyModule(seed=1), _loader(), ckpt_path=saved)
    assert trainer.global_step == total
    assert second.history == expected_history(schedule, total)  # 0..19 from the checkpoint, then 20..39
    assert second.stepper.handle.recorded_bits[0] == second.history[20][1:]


def test_evaluation_alone_runs_at_the_top_bits(tmp_path):
    precision = CyclicPrecision(schedule_under_test())
    module = TinyModule()
    trainer = _trainer(tmp_path, [precision])
    trainer.fit(module, _loader())
    spy = LayerSpy(precision.stepper.handle.layers)
    trainer.validate(module, _loader(8), verbose=False)  # setup again: the same quantized layers
    assert spy.eval_calls() == {(8, 8)} and len(spy.calls) == 2 * 2


def test_an_unknown_step_count_is_refused_in_one_line(tmp_path):
    class Endless(torch.utils.data.IterableDataset):
        def __iter__(self):
            while True:
                yield torch.randn(6), torch.tensor(0)

    precision = CyclicPrecision(schedule_under_test())
    trainer = _trainer(tmp_path, [precision], max_epochs=-1)
    with pytest.raises(ConfigError, match=r"estimated_stepping_batches\): total_steps=inf: the trainer's total "
                                          r"optimizer steps are unknown or infinite.*max_steps=N"):
        trainer.fit(TinyModule(), torch.utils.data.DataLoader(Endless(), batch_size=4))
    with pytest.raises(ConfigError, match=r"total_steps=-1"):
        _trainer(tmp_path, [CyclicPrecision(schedule_under_test())], max_epochs=2).fit(
            TinyModule(), torch.utils.data.DataLoader(Endless(), batch_size=4))
