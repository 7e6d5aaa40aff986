"""The exception types gigjax raises for bad input: :class:`GigjaxError` and, for weight files, its
subclass :class:`CheckpointError`."""


class GigjaxError(ValueError):
    """Bad input detected at the API boundary: the message names the problem (shape, dtype, NaN,
    unknown layer/method/class/option, ...). Subclasses ``ValueError`` so generic handlers catch it."""


class CheckpointError(GigjaxError):
    """A weight file that cannot be read: missing, corrupted, truncated, unsafe, oversized, holding
    NaN/Inf, or not a checkpoint. The message starts with the file's path."""
