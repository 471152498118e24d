"""A setting declared once: its type (the field's annotation), default, range and one-line doc
together, in the dataclass that holds it.

::

    @settings
    @dataclass
    class TrainConfig:
        lr: float = setting(2e-3, "Adam's peak learning rate", above(0))

:func:`out_of_range` checks an instance against the ranges, and :func:`settings` writes the docs
into the class docstring (what ``help()`` and the docs show), so nothing is repeated elsewhere.
Types are checked by OmegaConf when a config is read; a range holds the values of the right type
that no run can use (a negative learning rate, 0 frames, ...).
"""
from __future__ import annotations

import dataclasses
import math
import numbers
from typing import Any, Callable, Iterable, Iterator, Optional, Tuple, Union

#: a range: (test of a value, the range in words)
Range = Tuple[Callable[[Any], bool], str]


def setting(default: Any = dataclasses.MISSING, doc: str = "", valid: Optional[Range] = None, *,
            factory: Any = dataclasses.MISSING) -> Any:
    """A dataclass field with its ``default`` (or ``factory`` for a mutable one), its one-line
    ``doc`` and the range of values a run can use (``valid``; None: any value of the type)."""
    if not doc or "\n" in doc:
        raise ValueError(f"a setting's doc is one line, got {doc!r}")
    return dataclasses.field(default=default, default_factory=factory,
                             metadata={"doc": doc, "valid": valid})


def at_least(low: float, integer: bool = False, optional: Union[bool, str] = False) -> Range:
    """``>= low``; ``integer``: also an integer, not a bool (for values no reader type-checked);
    ``optional``: None is allowed too (a string: what None means, for the message)."""
    def test(v: Any) -> bool:
        if v is None:
            return bool(optional)
        if integer and (isinstance(v, bool) or not isinstance(v, numbers.Integral)):
            return False
        return v >= low
    return test, f">= {low}" + (f" (or {optional})" if isinstance(optional, str) and optional else "")


def above(low: float, optional: str = "") -> Range:
    """``> low`` and finite; ``optional``: None is allowed too, and means that."""
    def test(v: Any) -> bool:
        return bool(optional) if v is None else v > low and v != math.inf
    return test, f"> {low} and finite" + (f" (or {optional})" if optional else "")


def within(low: float, high: float, open_low: bool = False, open_high: bool = False,
           optional: str = "") -> Range:
    """In the interval from ``low`` to ``high``, each end closed unless said open."""
    def test(v: Any) -> bool:
        if v is None:
            return bool(optional)
        return (v > low if open_low else v >= low) and (v < high if open_high else v <= high)
    words = f"in {'(' if open_low else '['}{low}, {high}{')' if open_high else ']'}"
    return test, words + (f" (or {optional})" if optional else "")


def one_of(values: Iterable[Any]) -> Range:
    """One of ``values``."""
    values = tuple(values)
    return (lambda v: v in values), f"one of {', '.join(map(str, values))}"


def declared(cls_or_obj: Any) -> Iterator[dataclasses.Field]:
    """The fields of a dataclass declared with :func:`setting`."""
    return (f for f in dataclasses.fields(cls_or_obj) if "doc" in f.metadata)


def out_of_range(obj: Any) -> Optional[Tuple[str, Any, str]]:
    """(name, value, the range in words) of the first setting of ``obj`` out of its range, or
    None when every one is in range."""
    for f in declared(obj):
        valid = f.metadata["valid"]
        value = getattr(obj, f.name)
        if valid is not None and not valid[0](value):
            return f.name, value, valid[1]
    return None


def _default_words(f: dataclasses.Field) -> str:
    if f.default is not dataclasses.MISSING:
        return repr(f.default)
    if f.default_factory is dataclasses.MISSING:
        return "required"
    if dataclasses.is_dataclass(f.default_factory):   # a section: not built while classes are made
        return f"{f.default_factory.__name__}()"
    return repr(f.default_factory())


def describe(cls: type) -> str:
    """One line per setting of ``cls``: ``name (type, default D; range): doc``."""
    lines = []
    for f in declared(cls):
        kind = f.type if isinstance(f.type, str) else getattr(f.type, "__name__", str(f.type))
        valid = f.metadata["valid"]
        rng = f"; {valid[1]}" if valid is not None else ""
        lines.append(f"{f.name} ({kind}, default {_default_words(f)}{rng}): {f.metadata['doc']}")
    return "\n".join(lines)


def settings(cls: type) -> type:
    """Class decorator (above ``@dataclass``): the class docstring gains a ``Settings`` section
    written from its fields (:func:`describe`)."""
    text = describe(cls)
    if text:
        body = "\n".join("    " + line for line in text.splitlines())
        cls.__doc__ = (cls.__doc__ or "").rstrip() + "\n\n    Settings\n    --------\n" + body + "\n"
    return cls
