"""The one exception type gigjax raises for bad input."""


class GigjaxError(ValueError):
    """Bad input detected at the API boundary: the message names the problem (shape, dtype, NaN,
    unknown layer/method/class/option, ...). Subclasses ``ValueError`` so generic handlers catch it."""
