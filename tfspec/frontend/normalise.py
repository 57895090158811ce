"""Normalisation: Lark tree -> plain JSON-able spec dict, plus a {path: Span} table.

The spec dict is what the JSON Schema describes and what lowering reads::

    {"blocks": [{"name", "params": [{"name", "default"?}], "body": BODY}],
     "model": {"name", "body": BODY} | None,
     "train": {setting: VALUE} | None,
     "search"?: {name: CALL}}                       (present only when written)

    BODY  = {"inputs": [{"name", "shape": [int|None] | None, "dtype"}],
             "layers": [{"name", "layer": CALL}],
             "chains": [{"source": [name], "steps": [STEP], "target": name | None, "also"?: [name]}],
             "assigns": [{"targets": [name], "value": VALUE}],
             "ifs": [{"if": VALUE, "then": BODY, "else": BODY | None}],
             "outputs": [name],
             "losses"?: [name]}
    STEP  = {"call": CALL, "repeat": int | {"ref": name}, "using"?: {"args": [VALUE], "kwargs": {name: VALUE}}}
          | {"ref": name}
    CALL  = {"call": name, "args": [VALUE], "kwargs": {name: VALUE}}
    VALUE = int | float | str | bool | None | [VALUE] | {"tuple": [VALUE]}
          | {"ref": name} | {"dict": {key: VALUE}} | CALL
          | {"op": OP, "args": [VALUE]}                       (OP: OPERATORS' values)
          | {"index": VALUE, "items": [VALUE | {"slice": [VALUE | None] * 3} | {"ellipsis": True}]}
          | {"attr": name, "of": VALUE}
          | {"apply": VALUE, "args": [VALUE], "kwargs": {name: VALUE}}

A chain's "also" (`-> out, h, c`: the names after the first), a step's "using" (its second
argument list, `LSTM(8)(initial_state=[h, c])`) and a body's "losses" (the tensors its
`add_loss` statements name, last among its keys) are present only when written.
"""

from __future__ import annotations

from lark import Token, Tree

from ..diagnostics import Collector, Span, SpecError
from .fast import string_value
from .source import MAX_DEPTH

Path = tuple

# The tree's operator rules -> the "op" of a VALUE (comparisons carry their operator as a token).
OPERATORS = {
    "add": "+",
    "sub": "-",
    "mul": "*",
    "div": "/",
    "floordiv": "//",
    "mod": "%",
    "and_": "and",
    "or_": "or",
    "not_": "not",
    "neg": "neg",
}


# Operators nest without brackets (`a + b + ... + z` is as deep as it is long), so the depth of
# a value's tree is bounded too, with room above the brackets' MAX_DEPTH: the walks of a value
# (here, in lowering, printing) recurse once per level.
MAX_EXPRESSION_DEPTH = 2 * MAX_DEPTH


def too_deep(node) -> bool:
    """Whether a value's tree is deeper than MAX_EXPRESSION_DEPTH (measured without recursion)."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_EXPRESSION_DEPTH:
            return True
        if isinstance(item, Tree):
            stack.extend((child, depth + 1) for child in item.children)
    return False


def ifs_too_deep(node) -> bool:
    """Whether `if` statements (and `else if` chains) nest deeper than MAX_DEPTH in `node`."""
    stack = [(node, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            return True
        if isinstance(item, Tree):
            inner = depth + (1 if item.data == "if_stmt" and item is not node else 0)
            stack.extend((child, inner) for child in item.children)
    return False


class Normaliser:
    def __init__(self, path: str):
        self.path = path
        self.spans: dict[Path, Span] = {}
        self.errors = Collector(path)
        self.in_value = False
        self.in_if = False

    # -- helpers -------------------------------------------------------------
    def span(self, node) -> Span:
        if isinstance(node, Token):
            return Span.of_token(self.path, node)
        return Span.of_meta(self.path, node.meta)

    def mark(self, where: Path, node) -> None:
        self.spans[where] = self.span(node)

    # -- top level -----------------------------------------------------------
    def spec(self, tree: Tree) -> dict:
        out = {"blocks": [], "model": None, "train": None}
        for item in tree.children:
            kind = item.data
            if kind == "block":
                index = len(out["blocks"])
                out["blocks"].append(self.block(item, ("blocks", index)))
            elif kind == "model":
                if out["model"] is not None:
                    self.errors.error(
                        "E302",
                        "a spec holds one model; this is a second one",
                        self.span(item.children[0]),
                        "move shared parts into a `block` and keep one `model`",
                    )
                    continue
                self.mark(("model",), item.children[0])
                name = item.children[0]
                self.mark(("model", "name"), name)
                out["model"] = {"name": str(name), "body": self.body(item.children[1:], ("model", "body"))}
            elif kind == "train":
                if out["train"] is not None:
                    self.errors.error("E302", "a spec holds one train section; this is a second one", self.span(item))
                    continue
                self.mark(("train",), item)
                out["train"] = self.train(item, ("train",))
            elif kind == "search":
                if "search" in out:
                    self.errors.error("E302", "a spec holds one search section; this is a second one", self.span(item))
                    continue
                self.mark(("search",), item)
                out["search"] = self.train(item, ("search",))
        return out

    def block(self, item: Tree, where: Path) -> dict:
        name, *rest = item.children
        self.mark(where, name)
        self.mark(where + ("name",), name)
        params = []
        stmts = []
        for child in rest:
            if isinstance(child, Tree) and child.data == "param":
                pname, default = child.children
                at = where + ("params", len(params))
                self.mark(at, pname)
                self.mark(at + ("name",), pname)
                entry = {"name": str(pname)}
                if default is not None:
                    entry["default"] = self.value(default, at + ("default",))
                params.append(entry)
            elif child is not None:
                stmts.append(child)
        return {"name": str(name), "params": params, "body": self.body(stmts, where + ("body",))}

    def body(self, stmts, where: Path) -> dict:
        body = {"inputs": [], "layers": [], "chains": [], "assigns": [], "ifs": [], "outputs": []}
        if stmts:
            self.mark(where, stmts[0])
        for stmt in stmts:
            kind = stmt.data
            if kind == "input_decl":
                body["inputs"].append(self.input_decl(stmt, where + ("inputs", len(body["inputs"]))))
            elif kind == "output_decl":
                for name in stmt.children:
                    at = where + ("outputs", len(body["outputs"]))
                    self.mark(at, name)
                    body["outputs"].append(str(name))
            elif kind == "add_loss":
                losses = body.setdefault("losses", [])  # present only when written
                for name in stmt.children:
                    self.mark(where + ("losses", len(losses)), name)
                    losses.append(str(name))
            elif kind == "layer_decl":
                name, call = stmt.children
                at = where + ("layers", len(body["layers"]))
                self.mark(at, name)
                self.mark(at + ("name",), name)
                body["layers"].append({"name": str(name), "layer": self.call(call, at + ("layer",))})
            elif kind == "chain":
                body["chains"].append(self.chain(stmt, where + ("chains", len(body["chains"]))))
            elif kind == "assign":
                body["assigns"].append(self.assign(stmt, where + ("assigns", len(body["assigns"]))))
            elif kind == "if_stmt":
                if not self.in_if and ifs_too_deep(stmt):
                    self.errors.error(
                        "E104",
                        f"`if` statements nested more than {MAX_DEPTH} deep (an `else if` counts as one more)",
                        self.span(stmt),
                        "test the cases one after another, or compute the condition as a value first",
                    )
                    continue
                self.in_if, outer = True, self.in_if
                try:
                    body["ifs"].append(self.if_stmt(stmt, where + ("ifs", len(body["ifs"]))))
                finally:
                    self.in_if = outer
        return body

    def assign(self, stmt: Tree, where: Path) -> dict:
        *names, value = stmt.children
        self.mark(where, stmt)
        for j, name in enumerate(names):
            self.mark(where + ("targets", j), name)
        return {"targets": [str(n) for n in names], "value": self.value(value, where + ("value",))}

    def if_stmt(self, stmt: Tree, where: Path) -> dict:
        condition, then, other = stmt.children
        self.mark(where, stmt)
        out = {"if": self.value(condition, where + ("if",)), "then": self.branch(then, where + ("then",)), "else": None}
        if other is not None:
            if other.data == "if_stmt":  # `else if`: an else branch holding one if
                self.mark(where + ("else",), other)
                body = self.body([], where + ("else",))
                body["ifs"].append(self.if_stmt(other, where + ("else", "ifs", 0)))
                out["else"] = body
            else:
                out["else"] = self.branch(other, where + ("else",))
        return out

    def branch(self, node: Tree, where: Path) -> dict:
        self.mark(where, node)
        body = self.body(node.children, where)
        self.mark(where, node)  # the braces, not the first statement
        return body

    def input_decl(self, stmt: Tree, where: Path) -> dict:
        name, ttype = stmt.children
        self.mark(where, name)
        self.mark(where + ("name",), name)
        entry = {"name": str(name), "shape": None, "dtype": "float32"}
        if ttype is not None:
            dtype, *dims = ttype.children
            if dtype is not None:
                self.mark(where + ("dtype",), dtype)
                entry["dtype"] = str(dtype)
            self.mark(where + ("shape",), ttype)
            shape = []
            for i, dim in enumerate(d for d in dims if d is not None):
                self.mark(where + ("shape", i), dim)
                shape.append(None if isinstance(dim, Tree) else int(dim))
            entry["shape"] = shape
        return entry

    def chain(self, stmt: Tree, where: Path) -> dict:
        source, *steps = stmt.children
        self.mark(where, stmt)
        names = source.children
        for i, name in enumerate(names):
            self.mark(where + ("source", i), name)
        self.mark(where + ("source",), source)
        also = []
        while steps and isinstance(steps[-1], Token):  # `-> out, h, c`: the names after the first
            also.insert(0, steps.pop())
        target = None
        if steps and steps[-1].data == "step_name":
            last = steps.pop()
            target = str(last.children[0])
            self.mark(where + ("target",), last.children[0])
        elif also:
            self.errors.error(
                "E306",
                "a chain that yields several tensors ends with their names",
                self.span(also[0]),
                "e.g. `x -> LSTM(8, return_state=True) -> out, h, c`",
            )
        for j, name in enumerate(also):
            self.mark(where + ("also", j), name)
        out_steps = []
        for i, step in enumerate(steps):
            at = where + ("steps", i)
            self.mark(at, step)
            if step.data == "step_name":
                out_steps.append({"ref": str(step.children[0])})
            else:
                call, *using, times = step.children
                entry = {"call": self.call(call, at + ("call",)), "repeat": 1}
                if times is not None:
                    self.mark(at + ("repeat",), times)
                    entry["repeat"] = {"ref": str(times)} if times.type == "NAME" else int(times)
                using = [u for u in using if u is not None]
                if using:
                    entry["using"] = self.arguments(using, at + ("using",))
                out_steps.append(entry)
        chain = {"source": [str(n) for n in names], "steps": out_steps, "target": target}
        if also:
            chain["also"] = [str(n) for n in also]
        return chain

    def train(self, item: Tree, where: Path) -> dict:
        settings = {}
        for setting in item.children:
            name, value = setting.children
            at = where + (str(name),)
            if str(name) in settings:
                self.errors.error(
                    "E302",
                    f"{name!s} is set twice",
                    self.span(name),
                    f"the first `{name} = ...` is at line {self.spans[at].line}",
                )
                continue
            self.mark(at, setting)
            settings[str(name)] = self.value(value, at)
            self.spans[at + ("@name",)] = self.span(name)
        return settings

    # -- values --------------------------------------------------------------
    def call(self, node: Tree, where: Path) -> dict:
        name, *arguments = node.children
        self.mark(where, node)
        self.mark(where + ("call",), name)
        return {"call": str(name), **self.arguments(arguments, where)}

    def arguments(self, arguments, where: Path) -> dict:
        """{"args": [...], "kwargs": {...}} of an argument list (a call's, an apply's)."""
        args, kwargs = [], {}
        for arg in arguments:
            if arg is None:
                continue
            if isinstance(arg, Tree) and arg.data == "kwarg":
                key, value = arg.children
                at = where + ("kwargs", str(key))
                if str(key) in kwargs:
                    self.errors.error("E105", f"argument {key!s} is given twice", self.span(key))
                    continue
                self.spans[at + ("@name",)] = self.span(key)
                kwargs[str(key)] = self.value(value, at)
            else:
                at = where + ("args", len(args))
                if kwargs:
                    self.errors.error(
                        "E107",
                        "positional argument after keyword arguments",
                        self.span(arg),
                        "put positional arguments first",
                    )
                args.append(self.value(arg, at))
        return {"args": args, "kwargs": kwargs}

    def value(self, node, where: Path):
        if not self.in_value:  # a whole value: its depth bounded before it is walked (recursively)
            self.in_value = True
            try:
                if too_deep(node):
                    self.errors.error(
                        "E104",
                        f"an expression nested more than {MAX_EXPRESSION_DEPTH} deep",
                        self.span(node),
                        "split it into named parts: `a = ...` then `b = a + ...`",
                    )
                    return None
                return self.value(node, where)
            finally:
                self.in_value = False
        self.in_if = False
        self.mark(where, node)
        kind = node.data
        if kind == "call":
            return self.call(node, where)
        if kind == "int":
            return int(node.children[0])
        if kind == "float":
            return float(node.children[0])
        if kind == "string":
            return self.string(node.children[0])
        if kind == "true":
            return True
        if kind == "false":
            return False
        if kind == "none":
            return None
        if kind == "ref":
            return {"ref": str(node.children[0])}
        if kind == "list":
            items = [c for c in node.children if c is not None]
            return [self.value(c, where + (i,)) for i, c in enumerate(items)]
        if kind == "tuple":
            return {"tuple": [self.value(c, where + ("tuple", i)) for i, c in enumerate(node.children)]}
        if kind == "dict":
            out = {}
            for pair in (c for c in node.children if c is not None):
                key, value = pair.children
                text = self.string(key) if key.type == "STRING" else str(key)
                if text in out:
                    self.errors.error("E105", f"key {text!r} is given twice", self.span(key))
                    continue
                self.spans[where + ("dict", text, "@name")] = self.span(key)
                out[text] = self.value(value, where + ("dict", text))
            return {"dict": out}
        if kind in OPERATORS:
            return {
                "op": OPERATORS[kind],
                "args": [self.value(c, where + ("args", i)) for i, c in enumerate(node.children)],
            }
        if kind == "compare":
            left, operator, right = node.children
            return {
                "op": str(operator),
                "args": [self.value(left, where + ("args", 0)), self.value(right, where + ("args", 1))],
            }
        if kind == "index":
            target, *items = node.children
            items = [c for c in items if c is not None]
            return {
                "index": self.value(target, where + ("index",)),
                "items": [self.subscript(c, where + ("items", i)) for i, c in enumerate(items)],
            }
        if kind == "attr":
            target, name = node.children
            self.mark(where + ("attr",), name)
            return {"attr": str(name), "of": self.value(target, where + ("of",))}
        if kind == "apply":
            target, *arguments = node.children
            return {"apply": self.value(target, where + ("apply",)), **self.arguments(arguments, where)}
        raise AssertionError(f"unhandled value node {kind}")

    def subscript(self, node, where: Path):
        if isinstance(node, Tree) and node.data == "slice":
            self.mark(where, node)
            parts = [None if c is None else self.value(c, where + ("slice", k)) for k, c in enumerate(node.children)]
            return {"slice": parts}
        if isinstance(node, Tree) and node.data == "ellipsis":
            self.mark(where, node)
            return {"ellipsis": True}
        return self.value(node, where)

    def string(self, token: Token) -> str:
        value, ok = string_value(str(token))
        if not ok:
            self.errors.error("E106", "invalid escape sequence in string", self.span(token), "use \\\\ for a backslash")
        return value


def normalise(tree: Tree, path: str, text: str) -> tuple[dict, dict]:
    """Return (spec dict, span table); raise SpecError listing all problems found."""
    n = Normaliser(path)
    spec = n.spec(tree)
    if n.errors:
        raise SpecError(n.errors.items, text)
    return spec, n.spans
