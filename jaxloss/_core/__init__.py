"""The spine: mechanics every loss shares, each written once.

- :mod:`~jaxloss._core.types`: the array, axis and reduction types of every signature.
- :mod:`~jaxloss._core.checks`: trace-time validation with messages that name the
  function and argument, and the run-time checks behind :func:`jaxloss.checked`.
- :mod:`~jaxloss._core.numerics`: stable primitives (log-space, safe division,
  norms, binary cross-entropy with closed-form derivatives, similarities).
- :mod:`~jaxloss._core.reduce`: input preparation, masks, weights and reduction.
- :mod:`~jaxloss._core.classes`: inputs with a class axis (integer or probability
  targets, ignored rows, class weights) and the softmax cross-entropy rows that
  every class-axis loss builds on.
- :mod:`~jaxloss._core.sharding`: the collectives behind ``axis_name``.

Nothing here imports from the rest of jaxloss.
"""
