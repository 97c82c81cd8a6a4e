"""Parse OCA rule files into the syntax tree of processing/oca/ast.py.

The grammar (oca.lark) is LALR(1), run by lark; the text first goes through the
preprocessor (comments, #include, #define). Errors are OcaSyntaxError with the file, line
and column of the original text and the tokens that were expected there.
"""

import difflib
import re
from functools import lru_cache
from pathlib import Path

from lark import Lark, Transformer, v_args
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
    "$END": "end of file",
}


@lru_cache(maxsize=1)
def _parser():
    return Lark(GRAMMAR.read_text(), parser="lalr", propagate_positions=True,
                maybe_placeholders=False)


def _keyword(token):
    """The word of a keyword terminal (`IF`, `_AND`: /and(?!…)/), else None."""
    try:
        pattern = _parser().get_terminal(token).pattern
    except KeyError:
        return None
    if pattern.type == "str":
        return pattern.value if pattern.value.isalpha() else None
    match = re.fullmatch(r"([A-Za-z]+)\(\?!\[[^\]]*\]\)", pattern.value)
    return match.group(1) if match else None


def _expected_names(expected):
    names = set()
    for token in expected:
        if token in TOKEN_NAMES:
            names.add(TOKEN_NAMES[token])
        elif _keyword(token):
            names.add(f"'{_keyword(token)}'")
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


# A ';' is missing when the parser needs one and meets the start of the next statement, or
# the end of a block, instead; where a ';' is optional (after '}'), those are expected too.
NEXT_STATEMENT = {"RBRACE", "SELECT", "IF", "ACTION", "RECIPE", "PRODUCT"}
NEXT_WORDS = ("minRet", "maxRet")


def _expected_words(expected):
    """The keywords among the expected tokens (for 'did you mean')."""
    return [word for word in map(_keyword, expected) if word]


def _line_column(text, offset):
    """1-based line and column of a character offset in the preprocessed text."""
    line = text.count("\n", 0, offset) + 1
    return line, offset - text.rfind("\n", 0, offset)


def _after_previous(text, offset):
    """(line, column) just after the last non-blank character before offset, or None."""
    i = offset - 1
    while i >= 0 and text[i].isspace():
        i -= 1
    if i < 0:
        return None
    line, column = _line_column(text, i)
    return line, column + 1


def _unclosed_brace(text, stop):
    """Offset of the last '{' before stop that no '}' closes (strings skipped), or None."""
    opened, i = [], 0
    while i < stop:
        c = text[i]
        if c == '"':
            j = text.find('"', i + 1)
            newline = text.find("\n", i + 1)
            if j < 0 or (0 <= newline < j):
                j = newline if newline >= 0 else stop
            i = j + 1
            continue
        if c == "{":
            opened.append(i)
        elif c == "}" and opened:
            opened.pop()
        i += 1
    return opened[-1] if opened else None


def _syntax_error(exc, source):
    """OcaSyntaxError at the original file, line and column, with what to write instead."""
    text = source.text
    line = exc.line if exc.line and exc.line > 0 else len(source.origins) + 1
    column = exc.column if exc.column and exc.column > 0 else 1
    token = getattr(exc, "token", None)
    at_end = isinstance(exc, UnexpectedEOF) or (token is not None and token.type == "$END")
    expected = getattr(exc, "expected", None) or getattr(exc, "allowed", None) or set()
    hint = ""
    if at_end:
        # Report the end of the last statement (where the missing text goes), not its start.
        end = _after_previous(text, len(text))
        if end:
            line, column = end
        message = f"unexpected end of file; expected {_expected_names(expected)}"
        brace = _unclosed_brace(text, len(text))
        if brace is not None and "RBRACE" in expected:
            b_line, b_column = _line_column(text, brace)
            b_origin = source.origin(b_line)
            place = f"line {b_origin.line}, column {b_column}"
            if b_origin.file != source.origin(line).file:
                place = f"{b_origin.file}:{b_origin.line}:{b_column}"
            hint = f" (the '{{' at {place} is never closed)"
    elif isinstance(exc, UnexpectedCharacters):
        char = exc.char
        if char == '"':
            message = "unterminated string: a '\"' without its closing '\"' on the same line"
        elif char == "'":
            message = "unexpected character \"'\": strings are written in double quotes"
        else:
            message = f"unexpected character {char!r}; expected {_expected_names(exc.allowed)}"
    elif isinstance(exc, UnexpectedToken):
        offset = token.start_pos if token.start_pos is not None else 0
        word = str(token)
        previous = text[:offset].rstrip()
        if word == "=" and "COMPARE" in expected:
            message = "unexpected '=': in a condition, equality is written '=='"
        elif word == "=" and previous.endswith("=") and not expected & {"COMPARE", "LPAR"}:
            line, column = _line_column(text, len(previous) - 1)
            message = "unexpected '==': an assignment in { } is written KEY = value"
        elif "SEMICOLON" in expected and not (expected & NEXT_STATEMENT) and (
                expected == {"SEMICOLON"} or token.type in NEXT_STATEMENT or word in NEXT_WORDS):
            end = _after_previous(text, offset)
            if end:
                line, column = end
            message = f"missing ';' before {word!r}"
        else:
            message = f"unexpected {word!r}; expected {_expected_names(expected)}"
            words = _expected_words(expected)
            same = [w for w in words if w.lower() == word.lower()]
            close = difflib.get_close_matches(word, words, n=1, cutoff=0.7)
            if previous.endswith('"') and offset == len(previous) and token.type == "NAME":
                hint = (" (it follows a string directly: is a '\"' missing or one too many "
                        "earlier on this line?)")
            elif token.type == "NAME" and same:
                hint = f" (keywords are written in lower case: '{same[0]}')"
            elif token.type == "NAME" and close:
                hint = f" (did you mean '{close[0]}'?)"
    else:
        message = str(exc).splitlines()[0]
    origin = source.origin(line)
    note = " (in the text after macro expansion)" if origin.expanded else ""
    return OcaSyntaxError(origin.file, origin.line, column, message + hint + note)


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
