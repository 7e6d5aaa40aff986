"""Command-line flags of the commands that run explainers, generated from the declared options
(:mod:`gigjax.options`), so ``--help`` shows every default and choice stated there.

* Post-processing flags: one per option of :data:`gigjax.options.POSTPROCESSING` that has a flag
  (``--layer``, ``--fuse``, ``--relu/--no-relu``, ``--normalize/--no-normalize``, ``--scales``,
  ``--fusion``), defaulting to the option's default.
* Method flags: one per option of any registered method (``max_dist`` → ``--max-dist``;
  ``--opt-batch-size`` where the command already has ``--batch-size``), typed by the option's
  ``parse`` or its default (int, float, bool → ``--x/--no-x``, tuple → a comma-separated list,
  anything else → string). A flag the user did not give is not passed, so each method keeps its own
  default; a flag the chosen method does not take is a clear error.
"""

from __future__ import annotations

import argparse
from typing import Any

from gigjax.errors import GigjaxError
from gigjax.metrics import declared_settings
from gigjax.options import POSTPROCESSING, Option, name_list, number_list  # noqa: F401  (re-exported)
from gigjax.registry import available_methods, get_method


def _flag(option: Option) -> dict:
    """argparse keywords for ``option``'s flag (its type, or a --x/--no-x pair for a bool)."""
    default = option.default
    if option.parse is not None:
        kind = option.parse
    elif isinstance(default, bool):
        return dict(action=argparse.BooleanOptionalAction)
    elif isinstance(default, (int, float)):
        kind = type(default)
    elif isinstance(default, tuple):
        kind = number_list if all(isinstance(v, (int, float)) for v in default) else name_list
    else:
        kind = str
    return dict(type=kind)


def _text(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(map(str, value))
    return "none" if value is None else str(value)


def _escape(text: str) -> str:
    return text.replace("%", "%%")


def _declared_by_methods(name: str) -> str:
    """'; gigcam_f: 1,2' — the methods that declare their own default for a post-processing option."""
    own = [(m, get_method(m).options[name].default) for m in available_methods() if name in get_method(m).options]
    return "".join(f"; {m}: {_text(d)}" for m, d in own)


def _add_flag(group, name: str, option: Option, default_text: str) -> None:
    """``--NAME`` (and the option's extra spellings) for one declared option: typed by it or limited to
    its choices, defaulting to its default, with its doc and ``default_text`` as the help."""
    spec = _flag(option)
    if option.choices is not None:
        spec["choices"] = option.choices
    group.add_argument(f"--{name.replace('_', '-')}", *option.flags, dest=name, default=option.default,
                       help=_escape(f"{option.doc} (default: {default_text})"), **spec)


def add_postprocess_arguments(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("post-processing (all methods)")
    for name, option in POSTPROCESSING.items():
        if option.cli:
            _add_flag(g, name, option, _text(option.default) + _declared_by_methods(name))


def _method_help(takers: dict[str, Option], show_choices: bool) -> str:
    """The doc, choices (with ``show_choices``) and per-method defaults of one flag shared by several
    methods."""
    groups: dict[tuple, dict[str, list[str]]] = {}
    for method, option in takers.items():
        groups.setdefault((option.doc, option.choices), {}).setdefault(_text(option.default), []).append(method)
    parts = []
    for (doc, choices), defaults in groups.items():
        where = "; ".join(f"{', '.join(ms)}: default {d}" for d, ms in defaults.items())
        among = f" {{{','.join(map(str, choices))}}}" if show_choices and choices is not None else ""
        parts.append(f"{doc}{among} ({where})")
    return _escape(" | ".join(parts))


def add_method_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per method option across the registry."""
    takers: dict[str, dict[str, Option]] = {}  # option → {method: its declaration}
    for name in available_methods():
        for option, declared in get_method(name).method_options.items():
            takers.setdefault(option, {})[name] = declared
    g = parser.add_argument_group(
        "method options (each applies to the methods listed; --opt-NAME where the command has its own --NAME)")
    for option in sorted(takers):
        declared = list(takers[option].values())
        spec = _flag(declared[0])
        if declared[0].choices is not None and all(d.choices == declared[0].choices for d in declared):
            spec["choices"] = declared[0].choices
        elif "type" in spec:
            spec["metavar"] = option.upper()
        flag = option.replace("_", "-")
        kwargs = dict(dest=f"opt_{option}", default=None, help=_method_help(takers[option], "choices" not in spec),
                      **spec)
        try:
            g.add_argument(f"--{flag}", **kwargs)
        except argparse.ArgumentError:  # the command defines --NAME itself (e.g. --batch-size)
            g.add_argument(f"--opt-{flag}", **kwargs)


def add_setting_arguments(group) -> None:
    """One ``--NAME`` flag (and its declared extra spellings) per evaluation setting the metric table
    declares (:func:`gigjax.metrics.declared_settings`), with its doc and default."""
    for name, option in declared_settings().items():
        _add_flag(group, name, option, _text(option.default))


def setting_values(args: argparse.Namespace) -> dict:
    """The evaluation settings a namespace built with :func:`add_setting_arguments` holds."""
    return {name: getattr(args, name) for name in declared_settings()}


def method_options(args: argparse.Namespace, methods: tuple[str, ...]) -> dict[str, dict]:
    """{method: the options given on the command line that it takes}. A given option that none of
    ``methods`` takes is an error (so a typo'd or misplaced flag is never silently ignored)."""
    given = {k[4:]: v for k, v in vars(args).items() if k.startswith("opt_") and v is not None}
    per_method = {m: {k: v for k, v in given.items() if k in get_method(m).options} for m in methods}
    unused = sorted(set(given) - {k for opts in per_method.values() for k in opts})
    if unused:
        flags = ", ".join("--" + u.replace("_", "-") for u in unused)
        raise GigjaxError(f"{flags} does not apply to method(s) {', '.join(methods)}")
    return per_method


def postprocess_options(args: argparse.Namespace) -> dict:
    """The post-processing options of the command line (those left at ``None`` are not passed, so a
    method's own default applies)."""
    out = {name: getattr(args, name) for name, option in POSTPROCESSING.items()
           if option.cli and getattr(args, name) is not None}
    if "layer" in out and len(out["layer"]) == 1:
        out["layer"] = out["layer"][0]
    return out
