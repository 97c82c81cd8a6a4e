"""Parse OCA rule files into the syntax tree of processing/oca/ast.py.

The grammar (oca.lark) is LALR(1), run by lark; the text first goes through the
preprocessor (comments, #include, #define). Errors are OcaSyntaxError with the file, line
and column of the original text and the tokens that were expected there.
"""

from functools import lru_cache
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedCharacters, UnexpectedEOF, UnexpectedInput, UnexpectedToken

from processing.oca import ast
from processing.oca.preprocess import OcaSyntaxError, preprocess
from processing.oca.ruleset import build_ruleset

GRAMMAR = Path(__file__).with_name("oca.lark")
INPUT_PREFIX = "inputFile."

# How expected tokens are named in messages.
TOKEN_NAMES = {
    "NAME": "a name", "STRING": 'a quoted string', "NUMBER": "a number",
    "SIGNED_INT": "an integer", "COMPARE": "a comparison (== != < > <= >=)",
    "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'", "SEMICOLON": "';'", "LBRACE": "'{'",
    "RBRACE": "'}'", "LPAR": "'('", "RPAR": "')'", "COMMA": "','", "EQUAL": "'='",
    "IF": "'if'", "THEN": "'then'", "SELECT": "'select'", "ACTION": "'action'",
    "RECIPE": "'recipe'", "PRODUCT": "'product'", "$END": "end of file",
}


@lru_cache(maxsize=1)
def _parser():
    return Lark(GRAMMAR.read_text(), parser="lalr", propagate_positions=True,
                maybe_placeholders=False)


def _expected_names(expected):
    names = set()
    for token in expected:
        if token in TOKEN_NAMES:
            names.add(TOKEN_NAMES[token])
        elif token.startswith("__ANON") or token.isupper() is False:
            names.add(token)
        else:
            pattern = _parser().get_terminal(token).pattern
            value = getattr(pattern, "value", token)
            names.add(f"'{value}'" if pattern.type == "str" else token.lower())
    return ", ".join(sorted(names))


class _Build(Transformer):
    """Tree → AST nodes. Positions are mapped back through the preprocessor's origins."""

    def __init__(self, source):
        super().__init__()
        self.source = source

    def _position(self, meta_or_token):
        line = getattr(meta_or_token, "line", 1)
        column = getattr(meta_or_token, "column", 1)
        origin = self.source.origin(line)
        return ast.Position(origin.file, origin.line, column)

    # values
    def string(self, items):
        return ast.Literal(items[0][1:-1])

    def number(self, items):
        text = str(items[0])
        value = float(text) if any(c in text for c in ".eE") else int(text)
        return ast.Literal(value)

    def bare(self, items):
        return ast.Literal(str(items[0]))

    def key(self, items):
        name = str(items[0])
        if name in ("T", "F"):
            return ast.Literal(name == "T")
        if name.startswith(INPUT_PREFIX):
            return ast.Key(name[len(INPUT_PREFIX):], of_input=True)
        return ast.Key(name)

    # expressions
    def any_of(self, items):
        return items[0] if len(items) == 1 else ast.Or(tuple(items))

    def all_of(self, items):
        return items[0] if len(items) == 1 else ast.And(tuple(items))

    def negation(self, items):
        return ast.Not(items[0])

    def compare(self, items):
        left, op, right = items
        return ast.Compare(str(op), left, right)

    def like(self, items):
        return ast.Like(items[0], items[1][1:-1])

    def between(self, items):
        return ast.Between(*items)

    def try_between(self, items):
        return ast.Between(*items, soft=True)

    def arithmetic(self, items):
        node = items[0]
        for op, right in zip(items[1::2], items[2::2]):
            node = ast.Arithmetic(str(op), node, right)
        return node

    def signed(self, items):
        op, value = items
        if str(op) == "+":
            return value
        if isinstance(value, ast.Literal) and isinstance(value.value, (int, float)):
            return ast.Literal(-value.value)
        return ast.Arithmetic("-", ast.Literal(0), value)

    # statements
    @v_args(meta=True)
    def assignment(self, meta, items):
        name, value = items
        return (str(name), value.value)

    @v_args(meta=True)
    def classification(self, meta, items):
        condition = items[1]
        assignments = tuple(i for i in items[3:] if isinstance(i, tuple))
        return ast.Classification(condition, assignments, self._position(items[0]))

    def where(self, items):
        return ("where", items[0])

    def group_by(self, items):
        return ("group_by", tuple(str(i) for i in items))

    def alias(self, items):
        return ("alias", (str(items[0]), str(items[1])))

    def organisation(self, items):
        keyword, action, source, *clauses = items
        parts = dict(clauses)
        event, tag = parts.get("alias", (None, None))
        return ast.Organisation(str(action), str(source), parts.get("where"),
                                parts.get("group_by", ()), event, tag, self._position(keyword))

    def min_ret(self, items):
        return ("minRet", int(items[0]))

    def max_ret(self, items):
        return ("maxRet", int(items[0]))

    def select(self, items):
        keyword, tag, source, *rest = items
        condition = rest[0][1] if rest else None
        return ("select", (str(tag), str(source), condition, self._position(keyword)))

    def recipe(self, items):
        keyword, name, *params = items
        return ("recipe", (str(name), tuple(str(p)[1:-1] for p in params)))

    def product(self, items):
        keyword, name, *assignments = items
        return ("product", ast.ProductDecl(str(name), tuple(assignments), self._position(keyword)))

    def action(self, items):
        keyword, name, *body = items
        min_ret, max_ret = 1, 1
        selects, products, recipe, parameters = [], [], None, ()
        for kind, value in body:
            if kind == "minRet":
                min_ret = value
            elif kind == "maxRet":
                max_ret = value
            elif kind == "select":
                tag, source, condition, position = value
                selects.append(ast.Select(tag, source, condition, min_ret, max_ret, position))
            elif kind == "recipe":
                recipe, parameters = value
            elif kind == "product":
                products.append(value)
        return ast.Action(str(name), tuple(selects), recipe, parameters, tuple(products),
                          self._position(keyword))

    def start(self, items):
        return items


def _syntax_error(exc, source):
    origin = source.origin(exc.line if exc.line and exc.line > 0 else len(source.origins) + 1)
    column = exc.column if exc.column and exc.column > 0 else 1
    note = " (in the text after macro expansion)" if origin.expanded else ""
    if isinstance(exc, UnexpectedCharacters):
        char = exc.char
        if char == '"':
            message = "unterminated string: a '\"' without its closing '\"' on the same line"
        else:
            message = f"unexpected character {char!r}; expected {_expected_names(exc.allowed)}"
    elif isinstance(exc, UnexpectedEOF):
        message = f"unexpected end of file; expected {_expected_names(exc.expected)}"
    elif isinstance(exc, UnexpectedToken):
        token = exc.token
        if str(token) == "=" and "COMPARE" in exc.expected:
            message = "unexpected '=': in a condition, equality is written '=='"
        elif token.type == "$END":
            message = f"unexpected end of file; expected {_expected_names(exc.expected)}"
        else:
            message = f"unexpected {str(token)!r}; expected {_expected_names(exc.expected)}"
    else:
        message = str(exc).splitlines()[0]
    return OcaSyntaxError(origin.file, origin.line, column, message + note)


def parse_rules(text, source="<rules>", include_dirs=()):
    """Parse OCA text into a RuleSet; raise OcaSyntaxError naming file, line and column."""
    processed = preprocess(text, str(source), include_dirs)
    try:
        tree = _parser().parse(processed.text)
    except UnexpectedInput as exc:
        raise _syntax_error(exc, processed) from None
    statements = _Build(processed).transform(tree)
    return build_ruleset(str(source), statements, processed.files)


def parse_rules_file(path, include_dirs=()):
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise OcaSyntaxError(path, 0, 0, f"cannot read the rule file: {exc}") from None
    return parse_rules(text, str(path), (path.parent, *include_dirs))
