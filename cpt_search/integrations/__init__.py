"""Run an exported schedule in the trainers people use.

One :class:`~cpt_search.integrations.stepper.PrecisionStepper` (quantize the model, set the bits of
each optimizer step, evaluate at the schedule's top bits, keep the ``history`` of what was applied,
save and restore it with checkpoints) and one thin adapter per trainer:

    pytorch        ``apply_schedule(model, optimizer, schedule, total_steps)``: an optimizer step hook,
                   the loop unchanged (Accelerate's wrapped optimizer too); also ``cpt_search.apply_schedule``
    lightning      ``CyclicPrecision(schedule)``: a ``lightning.pytorch.Callback`` (extra ``[lightning]``)
    transformers   ``CyclicPrecisionCallback(schedule)``: a ``transformers.TrainerCallback``
                   (extra ``[transformers]``)

Each adapter is its own module, imported only when named, so ``import cpt_search`` pulls in neither
torch nor a trainer package; a missing extra is a one-line :class:`~cpt_search.errors.MissingDependencyError`.
"""
