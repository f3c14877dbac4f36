"""Walk a Vega-Lite spec (``chart.to_dict()``): every view, its mark, encodings and resolved data.

Used by tests (here and in the app's tests) to check what a builder drew without rendering it.
Altair moves inline data to the top-level ``datasets`` and refers to it by name; :func:`view_data`
follows that reference (and inheritance from the enclosing layer).
"""

from __future__ import annotations

from collections.abc import Iterator

_CHILD_KEYS = ("layer", "vconcat", "hconcat", "concat")


def views(spec: dict, inherited_data: dict | None = None) -> Iterator[tuple[dict, dict | None]]:
    """(view, data) for every unit view (one with a ``mark``), depth first, in drawing order."""
    data = spec.get("data", inherited_data)
    if "mark" in spec:
        yield spec, data
    for key in _CHILD_KEYS:
        for child in spec.get(key, []):
            yield from views(child, data if key == "layer" else None)
    if "spec" in spec:  # facet / repeat
        yield from views(spec["spec"], data)


def rows(root: dict, data: dict | None) -> list[dict]:
    """The rows of a view's data: inline values or a named top-level dataset."""
    if not data:
        return []
    if "values" in data:
        return list(data["values"])
    return list(root.get("datasets", {}).get(data.get("name"), []))


def mark_type(view: dict) -> str:
    mark = view["mark"]
    return mark if isinstance(mark, str) else mark["type"]


def find(root: dict, *, mark: str | None = None, **conditions) -> list[tuple[dict, list[dict]]]:
    """(view, rows) of the views with ``mark`` whose mark properties include ``conditions``."""
    out = []
    for view, data in views(root):
        if mark is not None and mark_type(view) != mark:
            continue
        props = view["mark"] if isinstance(view["mark"], dict) else {}
        if all(props.get(k) == v for k, v in conditions.items()):
            out.append((view, rows(root, data)))
    return out


def filters(view: dict) -> list:
    """The filter expressions of a view's transforms (as Vega-Lite wrote them)."""
    return [t["filter"] for t in view.get("transform", []) if "filter" in t]


def x_domains(root: dict) -> list:
    """The explicit x scale domain of every view that encodes x with a field."""
    out = []
    for view, _ in views(root):
        x = view.get("encoding", {}).get("x", {})
        if "field" in x:
            out.append(x.get("scale", {}).get("domain"))
    return out


def named(root: dict, name: str) -> list[tuple[dict, list[dict]]]:
    """(view, rows) of the views described as ``name`` (builders tag their key layers with a
    ``description``; Vega-Lite ``name`` would have to be unique in the whole spec)."""
    return [(view, rows(root, data)) for view, data in views(root) if view.get("description") == name]


def one(root: dict, name: str) -> tuple[dict, list[dict]]:
    """The single view called ``name``."""
    found = named(root, name)
    if len(found) != 1:
        raise AssertionError(f"expected one view named {name!r}, found {len(found)}")
    return found[0]
