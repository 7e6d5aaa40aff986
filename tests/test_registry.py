"""gigjax/registry.py: Method declarations, get_method and describe."""

import pytest

import gigjax
from gigjax.options import POSTPROCESSING, Option, STEPS, bind


def _fn(model, x, targets, *, layers, power):
    return ()


def test_describe_lists_options_with_defaults_choices_and_docs():
    d = gigjax.describe("gigcam")
    assert d.options["steps"].default == 50 and d.options["path_signal"].choices == ("gradient", "cam")
    assert d.options["baseline"].array and not d.options["steps"].array
    assert gigjax.describe("guided_ig").options["steps"].default == 200
    assert d.postprocessing["fusion"].choices == ("geometric", "product", "mean")
    assert "layer" not in gigjax.describe("integrated_gradients").postprocessing  # works on the input
    text = str(gigjax.describe("scorecam"))
    assert "variant = default 'official'; one of 'official', 'pytorch_grad_cam'" in text
    assert "batch_size = default 32" in text and "fusion = default 'geometric'" in text


def test_every_registered_option_is_declared_once_with_a_doc():
    for name in gigjax.available_methods():
        method = gigjax.get_method(name)
        assert method.defaults == {k: o.default for k, o in method.options.items()}
        for option, declared in method.options.items():
            assert isinstance(declared, Option) and declared.doc, (name, option)
            assert declared.validate(declared.default, option) == declared.default, (name, option)


def test_a_declaration_is_checked_when_made():
    with pytest.raises(gigjax.GigjaxError, match="not as gigjax.options.Option"):
        gigjax.Method("m", _fn, "s", options={"power": 2})
    with pytest.raises(gigjax.GigjaxError, match="does not take"):
        gigjax.Method("m", _fn, "s", options={"power": STEPS, "steps": STEPS})
    with pytest.raises(gigjax.GigjaxError, match="requires unknown"):
        gigjax.Method("m", _fn, "s", options={"power": STEPS}, requires=("a_gpu",))
    assert gigjax.get_method(gigjax.Method("m", _fn, "s", options={"power": STEPS})).name == "m"


def test_bind_validates_and_fills_defaults():
    declared = {"steps": STEPS, "fuse": POSTPROCESSING["fuse"]}
    assert bind(declared, {"fuse": "max"}, "x") == {"steps": 50, "fuse": "max"}
    with pytest.raises(gigjax.GigjaxError, match="steps must be a positive integer"):
        bind(declared, {"steps": 0}, "x")
    with pytest.raises(gigjax.GigjaxError, match="fuse must be one of 'mean', 'max'"):
        bind(declared, {"fuse": "median"}, "x")
    with pytest.raises(gigjax.GigjaxError, match="x has no option"):
        bind(declared, {"stepz": 1}, "x")
    assert STEPS.but(default=200).default == 200 and STEPS.default == 50


def test_the_declaration_example_of_the_module_docstring_runs():
    import re
    import textwrap

    import jax
    import jax.numpy as jnp
    import numpy as np

    import gigjax.registry
    from gigjax.testing import tiny_cnn

    example = re.search(r"::\n\n(.*?)\n\n(?=\S)", gigjax.registry.__doc__, flags=re.S).group(1)
    namespace = {"jnp": jnp}
    try:
        exec(textwrap.dedent(example), namespace)
        toy, x = tiny_cnn(), jax.random.normal(jax.random.PRNGKey(3), (2, 32, 32, 3))
        np.testing.assert_allclose(gigjax.explain(toy, x, "my_cam", power=1, raw=True),
                                   gigjax.explain(toy, x, "gradcam", raw=True), rtol=1e-5, atol=1e-7)
        assert gigjax.describe("my_cam").options["power"].default == 1
    finally:
        gigjax.registry._METHODS.pop("my_cam", None)


def test_describe_says_which_methods_take_class_indices_only():
    assert "targets: class indices only" in str(gigjax.describe("scorecam"))
    assert gigjax.describe("scorecam").class_index and not gigjax.describe("gradcam").class_index
    assert "targets:" not in str(gigjax.describe("gradcam"))
