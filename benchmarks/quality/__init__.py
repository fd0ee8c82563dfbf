"""The quality studies: UniLoss ablations (``ablate``, ``ablate_tasks``), ``train_fit``, ``gradient_directions``."""
