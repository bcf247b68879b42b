"""GenieACS's expression language: parser, evaluator and SQL compiler.

- :func:`parse` turns text into an immutable tree (cached); :func:`to_string` turns it back.
- :func:`evaluate` runs it for one device (SQL three-valued logic; a wildcard path is true
  when any match passes), :func:`to_bool` gives the verdict, :func:`parameters` lists the
  paths to fetch first.
- :func:`compile_sql` turns it into an SQLite condition for the device search with the same
  results as evaluating it per device over :func:`make_resolver`.
"""

from .ast import Binary, Call, Case, Expr, ExpressionError, Literal, ParamRef, Unary
from .evaluate import evaluate, parameters, to_bool
from .fields import device_fields, make_resolver
from .format import to_string
from .parser import parse
from .sql import compile_sql
from .values import param_value

__all__ = [
    "Binary",
    "Call",
    "Case",
    "Expr",
    "ExpressionError",
    "Literal",
    "ParamRef",
    "Unary",
    "compile_sql",
    "device_fields",
    "evaluate",
    "make_resolver",
    "param_value",
    "parameters",
    "parse",
    "to_bool",
    "to_string",
]
