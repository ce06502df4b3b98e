"""CyclicPrecisionCallback: a real Hugging Face Trainer on CPU (a tiny BERT built from a config, no
download), with gradient accumulation, evaluation and a resume from a checkpoint mid-run."""

import json

import pytest
import torch

transformers = pytest.importorskip("transformers")

from cpt_search import save_schedule  # noqa: E402
from cpt_search.errors import ConfigError  # noqa: E402
from cpt_search.integrations.transformers import STATE_KEY, CyclicPrecisionCallback  # noqa: E402

from integration_parts import LayerSpy, expected_history, schedule_under_test  # noqa: E402

ACCUMULATE = 3
BATCH = 4
BATCHES = 23  # per epoch: 7 full accumulation windows and a last one of 2 batches
UPDATES_PER_EPOCH = 8
EPOCHS = 3
TOTAL = EPOCHS * UPDATES_PER_EPOCH


def tiny_bert(seed: int = 0):
    torch.manual_seed(seed)
    config = transformers.BertConfig(vocab_size=40, hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                     intermediate_size=32, max_position_embeddings=16, num_labels=2)
    return transformers.BertForSequenceClassification(config)


class TinyTokens(torch.utils.data.Dataset):
    """Sequences of 8 token ids, labelled by whether token 5 occurs in them."""

    def __init__(self, samples: int, seed: int = 0):
        generator = torch.Generator().manual_seed(seed)
        self.ids = torch.randint(1, 40, (samples, 8), generator=generator)

    def __len__(self):
        return len(self.ids)

    def __getitem__(self, index):
        ids = self.ids[index]
        return {"input_ids": ids, "attention_mask": torch.ones_like(ids), "labels": int((ids == 5).any())}


class CrashAt(transformers.TrainerCallback):
    """A crash inside an accumulation window (after its first micro-batch) at update ``step``."""

    def __init__(self, step: int):
        self.step = step

    def on_substep_end(self, args, state, control, **kwargs):
        if state.global_step == self.step:
            raise RuntimeError("simulated crash")


def _args(tmp_path, **kwargs):
    options = dict(output_dir=str(tmp_path / "out"), per_device_train_batch_size=BATCH,
                   per_device_eval_batch_size=BATCH, gradient_accumulation_steps=ACCUMULATE,
                   num_train_epochs=EPOCHS, learning_rate=1e-3, use_cpu=True, report_to=[], save_strategy="no",
                   logging_strategy="no", eval_strategy="no", disable_tqdm=True, dataloader_num_workers=0, seed=0)
    options.update(kwargs)
    return transformers.TrainingArguments(**options)


def _trainer(tmp_path, model, callbacks, **kwargs):
    return transformers.Trainer(model=model, args=_args(tmp_path, **kwargs), train_dataset=TinyTokens(BATCH * BATCHES),
                                eval_dataset=TinyTokens(2 * BATCH, seed=1), callbacks=callbacks)


def test_a_trainer_runs_the_schedule_once_per_update_and_evaluates_at_the_top_bits(tmp_path):
    schedule = schedule_under_test()
    precision = CyclicPrecisionCallback(save_schedule(tmp_path / "best.yaml", schedule))  # an exported file
    model = tiny_bert()
    trainer = _trainer(tmp_path, model, [precision], eval_strategy="epoch")
    handle = precision.stepper.handle  # quantized when the Trainer was built
    assert len(handle.layers) == 7  # q, k, v, attention output, intermediate, output, pooler; not the classifier
    spy = LayerSpy(handle.layers)
    handle.start_recording()
    trainer.train()
    assert trainer.state.global_step == TOTAL and precision.stepper.total_steps == TOTAL
    assert precision.history == expected_history(schedule, TOTAL)
    # What the quantized layers ran, per micro-batch: the bits of its update (2 batches in each epoch's last)
    windows = [ACCUMULATE] * (UPDATES_PER_EPOCH - 1) + [BATCHES - ACCUMULATE * (UPDATES_PER_EPOCH - 1)]
    assert handle.recorded_bits == [(b, g) for step, b, g in precision.history
                                    for _ in range(windows[step % UPDATES_PER_EPOCH])]
    assert spy.eval_calls() == {(8, 8)}  # the per-epoch evaluations ran at max_bits / max_grad_bits
    spy.calls.clear()
    trainer.evaluate()
    assert {call[1:] for call in spy.calls} == {(8, 8)} and len(spy.calls) == 2 * len(handle.layers)


def test_a_run_resumed_from_a_checkpoint_mid_run_continues_the_schedule(tmp_path):
    schedule = schedule_under_test()
    first = CyclicPrecisionCallback(schedule)
    with pytest.raises(RuntimeError, match="simulated crash"):
        _trainer(tmp_path, tiny_bert(), [first, CrashAt(step=14)], save_strategy="steps", save_steps=6).train()
    assert first.history == expected_history(schedule, TOTAL)[:15]
    checkpoint = tmp_path / "out" / "checkpoint-12"  # mid-epoch: epoch 1 holds updates 8..15
    saved = json.loads((checkpoint / "trainer_state.json").read_text())["stateful_callbacks"][STATE_KEY]
    assert [tuple(entry) for entry in saved["history"]] == expected_history(schedule, TOTAL)[:12]

    second = CyclicPrecisionCallback(schedule)  # a new process: fresh objects, state from the checkpoint
    trainer = _trainer(tmp_path, tiny_bert(seed=1), [second])
    second.stepper.handle.start_recording()
    trainer.train(resume_from_checkpoint=str(checkpoint))
    assert trainer.state.global_step == TOTAL
    assert second.history == expected_history(schedule, TOTAL)  # 0..11 from the checkpoint, then 12..23
    assert second.stepper.handle.recorded_bits[:ACCUMULATE] == [second.history[12][1:]] * ACCUMULATE


def test_a_checkpoint_of_another_schedule_is_refused(tmp_path):
    schedule = schedule_under_test()
    _trainer(tmp_path, tiny_bert(), [CyclicPrecisionCallback(schedule)], num_train_epochs=1,
             save_strategy="steps", save_steps=4).train()
    other = CyclicPrecisionCallback(schedule.replace(min_bits=4))
    # With the Trainer's own callback restore switched on, the callback is still this object (the
    # Trainer re-creates only ExportableState callbacks), and its state is read all the same.
    trainer = _trainer(tmp_path, tiny_bert(), [other], num_train_epochs=1,
                       restore_callback_states_from_checkpoint=True)
    with pytest.raises(ConfigError, match="the checkpoint was trained under a different schedule"):
        trainer.train(resume_from_checkpoint=str(tmp_path / "out" / "checkpoint-4"))
    assert other in trainer.callback_handler.callbacks
