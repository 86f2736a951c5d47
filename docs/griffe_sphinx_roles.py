"""A griffe extension for the docs build: render Sphinx roles in reST docstrings as code.

The package's docstrings are reST (for Airflow's Sphinx docs), so they hold roles such as
``:class:`~airflow_provider_codat.x.Y``` and directives such as ``.. seealso::``. mkdocstrings
renders docstrings as Markdown, where a role would show up verbatim; this rewrites each role
to inline code (``~`` keeps the last dotted part, as Sphinx does) and ``.. seealso::`` to a
"See also" line. Nothing becomes a cross-reference, so nothing can fail to resolve.
"""

from __future__ import annotations

import re
from typing import Any

import griffe

_ROLE = re.compile(r":(?:py:)?(?:class|func|meth|mod|attr|exc|data|obj|const):`([^`]+)`")
_SEEALSO = re.compile(r"^(\s*)\.\. seealso::\s*", re.M)


def _target(match: re.Match[str]) -> str:
    text = match.group(1).strip()
    if text.startswith("~"):
        text = text[1:].rsplit(".", 1)[-1]
    return f"`{text.lstrip('.')}`"


def rewrite(text: str) -> str:
    """Return ``text`` with Sphinx roles as inline code and ``.. seealso::`` as plain text."""
    return _SEEALSO.sub(r"\1See also: ", _ROLE.sub(_target, text))


class SphinxRoles(griffe.Extension):
    """Rewrite every docstring griffe loads."""

    def _fix(self, obj: Any) -> None:
        if obj.docstring is not None:
            obj.docstring.value = rewrite(obj.docstring.value)

    def on_instance(self, *, obj: griffe.Object, **kwargs: Any) -> None:
        """Called for each module, class, function and attribute."""
        self._fix(obj)
