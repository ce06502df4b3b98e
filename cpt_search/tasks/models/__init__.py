"""The networks the tasks train, written with plain ``nn.Conv2d`` / ``nn.Linear`` so that
:func:`cpt_search.quant.quantize_` covers their compute."""
